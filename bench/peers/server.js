'use strict';
// The reference server duet is benchmarked against: Node.js + socket.io 4.x over HTTPS, implementing
// duet's room protocol (docs/protocol.md) the way a typical Node signaling server would, with its own
// room table (not socket.io's adapter rooms), the same refusals and the same heartbeat.
//
//   node server.js [--listen 127.0.0.1:0] [--cert cert.pem --key key.pem]
//
// Without --cert it makes a self-signed ECDSA P-256 certificate at start (openssl, else node-forge
// RSA through the "selfsigned" package). It prints `https listening addr=HOST:PORT` once serving.
// Deliberate shortcut, in Node's favour: a payload's size is not measured (that would cost a
// JSON.stringify per message); socket.io's maxHttpBufferSize (128 KiB, as duet) bounds frames.
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const { execFileSync } = require('child_process');
const { Server } = require('socket.io');

function flag(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

function certificate() {
  const certFile = flag('cert', ''), keyFile = flag('key', '');
  if (certFile) return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peer-cert-'));
    const c = path.join(dir, 'cert.pem'), k = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-days', '30', '-subj', '/CN=localhost', '-keyout', k, '-out', c,
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const pair = { cert: fs.readFileSync(c), key: fs.readFileSync(k) };
    fs.rmSync(dir, { recursive: true, force: true });
    return pair;
  } catch (e) {
    const pems = require('selfsigned').generate([{ name: 'commonName', value: 'localhost' }], { days: 30, keySize: 2048 });
    return { cert: pems.cert, key: pems.private };
  }
}

const MAX_ROOM = 64;
const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;

const members = new Map(); // room name -> [socket id, ...] in join order
const where = new Map();   // socket id -> room name
const sockets = new Map(); // socket id -> socket

function refuse(socket, event, code, reason) {
  socket.emit('error', { event, code, reason });
}
function validRoom(r) { return typeof r === 'string' && ROOM_RE.test(r); }
function roomRefusal(socket, event) {
  refuse(socket, event, 'invalid_room', `the first argument must be a room name: 1 to ${MAX_ROOM} letters, digits, '-' or '_'`);
}
function peerOf(room, id) {
  const ms = members.get(room);
  if (!ms) return undefined;
  return ms[0] === id ? ms[1] : ms[0];
}
function remove(room, id) {
  where.delete(id);
  const ms = members.get(room).filter((m) => m !== id);
  if (ms.length === 0) members.delete(room); else members.set(room, ms);
  return ms[0];
}
function bye(room, peer, gone) {
  const p = peer && sockets.get(peer);
  if (p) p.emit('bye', room, gone);
}

const { cert, key } = certificate();
const server = https.createServer({ cert, key }, (req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(server, {
  serveClient: false,
  pingInterval: 4500,
  pingTimeout: 4000,
  maxHttpBufferSize: 128 << 10,
  cors: { origin: '*' },
});

io.on('connection', (socket) => {
  const id = socket.id;
  sockets.set(id, socket);
  socket.onAny((event) => {
    if (event !== 'join' && event !== 'leave' && event !== 'message') {
      refuse(socket, event, 'unknown_event', 'duet understands join, leave and message');
    }
  });
  socket.on('join', (room) => {
    if (!validRoom(room)) return roomRefusal(socket, 'join');
    const inRoom = where.get(id);
    if (inRoom === room) return refuse(socket, 'join', 'already_joined', `you are already in room "${room}"`);
    if (inRoom !== undefined) return refuse(socket, 'join', 'in_other_room', `leave your current room before joining "${room}"`);
    const ms = members.get(room) || [];
    if (ms.length >= 2) return socket.emit('full', room, id);
    const peer = ms[0];
    ms.push(id);
    members.set(room, ms);
    where.set(id, room);
    socket.emit('joined', room, id);
    const p = peer && sockets.get(peer);
    if (p) {
      p.emit('other_joined', room, id);
      p.emit('otherjoin', room, id);
    }
  });
  socket.on('leave', (room) => {
    if (!validRoom(room)) return roomRefusal(socket, 'leave');
    if (where.get(id) !== room) return refuse(socket, 'leave', 'not_in_room', `you are not in room "${room}"`);
    const peer = remove(room, id);
    socket.emit('leaved', room, id);
    bye(room, peer, id);
  });
  socket.on('message', (room, data) => {
    if (!validRoom(room)) return roomRefusal(socket, 'message');
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      return refuse(socket, 'message', 'invalid_payload', 'the second argument must be an object such as {type, sdp} or {type:\'candidate\', …}');
    }
    if (where.get(id) !== room) return refuse(socket, 'message', 'not_in_room', `you are not in room "${room}"`);
    const peer = peerOf(room, id);
    const p = peer && sockets.get(peer);
    if (p) p.emit('message', room, data);
  });
  socket.on('disconnect', () => {
    sockets.delete(id);
    const room = where.get(id);
    if (room !== undefined) bye(room, remove(room, id), id);
  });
});

const listen = flag('listen', '127.0.0.1:8444');
const i = listen.lastIndexOf(':');
server.listen(Number(listen.slice(i + 1)), listen.slice(0, i) || '0.0.0.0', () => {
  const a = server.address();
  console.log(`https listening addr=${a.address}:${a.port}`);
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { io.close(); server.close(); process.exit(0); });
