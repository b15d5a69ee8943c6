// Opens ROOMS pairs of real socket.io clients at once; each pair joins its own room and each member
// sends MESSAGES candidate-shaped messages to the other. Exits 1 if anything is lost, reordered or
// delivered to the wrong room. Usage: node load.cjs URL ROOMS MESSAGES
'use strict';
const { io } = require('socket.io-client');
const [url, rooms, messages] = [process.argv[2], +process.argv[3], +process.argv[4]];

function open() {
  const socket = io(url, { transports: ['websocket'], rejectUnauthorized: false, forceNew: true, reconnection: false, timeout: 45000 }); // a loaded CI box may take long to accept 400 handshakes
  return new Promise((resolve, reject) => {
    socket.on('connect', () => resolve(socket));
    socket.on('connect_error', reject);
  });
}

const once = (socket, event) => new Promise((resolve) => socket.once(event, (...args) => resolve(args)));

async function pair(r) {
  const room = `load-${r}`;
  const [a, b] = await Promise.all([open(), open()]);
  const aJoined = once(a, 'joined');
  a.emit('join', room);
  await aJoined;
  const otherJoined = once(a, 'other_joined');
  const bJoined = once(b, 'joined');
  b.emit('join', room);
  await Promise.all([otherJoined, bJoined]);
  const problems = [];
  const received = (socket, from) => new Promise((resolve) => {
    let next = 0;
    socket.on('message', (gotRoom, data) => {
      const want = `${room}/${from}/${next}`;
      if (gotRoom !== room || data.candidate !== want) problems.push(`${room}: got ${gotRoom} ${data.candidate}, want ${want}`);
      if (++next === messages) resolve();
    });
  });
  const done = Promise.all([received(b, 'a'), received(a, 'b')]);
  for (let i = 0; i < messages; i++) {
    a.emit('message', room, { type: 'candidate', label: 0, id: '0', candidate: `${room}/a/${i}` });
    b.emit('message', room, { type: 'candidate', label: 0, id: '0', candidate: `${room}/b/${i}` });
  }
  await done;
  a.close();
  b.close();
  return problems;
}

const deadline = setTimeout(() => { console.error('timed out'); process.exit(1); }, 60000);
Promise.all(Array.from({ length: rooms }, (_, r) => pair(r))).then((all) => {
  clearTimeout(deadline);
  const problems = all.flat();
  console.log(JSON.stringify({ rooms, relayed: rooms * 2 * messages, problems: problems.length }));
  if (problems.length) { console.error(problems.slice(0, 5).join('\n')); process.exit(1); }
}, (err) => { console.error(err.message); process.exit(1); });
