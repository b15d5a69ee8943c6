// Two duet nodes sharing rooms through Redis, driven by the real socket.io-client 4.x:
//   node twonodes.cjs URL_A URL_B ROOM [TRANSPORT]
// a joins on node A, b and c on node B; they relay offer, answer and candidate across the nodes, c is
// refused (full), b's disconnect reaches a as bye, c takes the seat, a's leave reaches c as bye.
// With TRANSPORT "crash": a joins on A and b on B, prints "paired", then waits (up to a minute) for
// the bye that must reach b when the test kills node A, and prints "bye".
// Exits 1 with the first expectation that did not hold.
'use strict';
const { io } = require('socket.io-client');

const [urlA, urlB, room, mode = 'websocket'] = process.argv.slice(2);
const transport = mode === 'crash' ? 'websocket' : mode;
const timeoutMs = 10000;

function client(url) {
  const socket = io(url, { transports: [transport], rejectUnauthorized: false, reconnection: false, forceNew: true });
  const queue = [];
  const waiters = [];
  socket.onAny((...ev) => {
    if (ev[0] === 'otherjoin') return; // the classic alias of other_joined
    if (waiters.length) waiters.shift()(ev); else queue.push(ev);
  });
  const next = (what, ms = timeoutMs) => queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event within ${ms} ms, want ${what}`)), ms);
    waiters.push((ev) => { clearTimeout(timer); resolve(ev); });
  });
  const connected = new Promise((resolve, reject) => {
    socket.on('connect', resolve);
    socket.on('connect_error', reject);
  });
  return { socket, next, connected };
}

// expect checks the client's next event: name and arguments (objects compared as encoded).
async function expect(c, name, ...args) {
  const want = JSON.stringify([name, ...args]);
  const got = JSON.stringify(await c.next(want));
  if (got !== want) throw new Error(`got ${got}, want ${want}`);
}

async function crash() {
  const a = client(urlA), b = client(urlB);
  await Promise.all([a.connected, b.connected]);
  a.socket.emit('join', room);
  await expect(a, 'joined', room, a.socket.id);
  b.socket.emit('join', room);
  await expect(b, 'joined', room, b.socket.id);
  await expect(a, 'other_joined', room, b.socket.id);
  const ia = a.socket.id;
  console.log('paired');
  // The bye may take the janitor's whole bound (redishub.Config.ByeBound), beyond next's default wait.
  const [ev, ...args] = await b.next('bye', 60000);
  if (ev !== 'bye' || args[0] !== room || args[1] !== ia) throw new Error(`got ${JSON.stringify([ev, ...args])}, want bye`);
  console.log('bye');
  b.socket.close();
}

async function main() {
  if (mode === 'crash') return crash();
  const a = client(urlA), b = client(urlB), c = client(urlB);
  await Promise.all([a.connected, b.connected, c.connected]);
  const [ia, ib, ic] = [a.socket.id, b.socket.id, c.socket.id];

  a.socket.emit('join', room);
  await expect(a, 'joined', room, ia);
  b.socket.emit('join', room);
  await expect(b, 'joined', room, ib);
  await expect(a, 'other_joined', room, ib);

  const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', z: 'é "q"', n: 1.5 };
  const answer = { sdp: 'v=0\r\n', type: 'answer' };
  const candidate = { type: 'candidate', label: 0, id: '0', candidate: 'candidate:1 1 udp 1 192.0.2.1 5 typ host' };
  a.socket.emit('message', room, offer);
  await expect(b, 'message', room, offer);
  b.socket.emit('message', room, answer);
  await expect(a, 'message', room, answer);
  a.socket.emit('message', room, candidate);
  await expect(b, 'message', room, candidate);

  c.socket.emit('join', room);
  await expect(c, 'full', room, ic);

  b.socket.close();
  await expect(a, 'bye', room, ib);
  c.socket.emit('join', room);
  await expect(c, 'joined', room, ic);
  await expect(a, 'other_joined', room, ic);
  a.socket.emit('leave', room);
  await expect(a, 'leaved', room, ia);
  await expect(c, 'bye', room, ia);
  a.socket.close();
  c.socket.close();
}

main().then(() => { if (mode !== 'crash') console.log('ok'); process.exit(0); }, (e) => { console.error(e.message); process.exit(1); });
