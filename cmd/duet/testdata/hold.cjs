// Two socket.io clients join ROOM and stay until the server goes away, then print how each was
// disconnected. Prints "ready" once the pair is joined. Usage: node hold.cjs URL ROOM
'use strict';
const { io } = require('socket.io-client');
const [url, room] = process.argv.slice(2);
const open = () => io(url, { transports: ['websocket'], rejectUnauthorized: false, forceNew: true, reconnection: false });
const a = open();
const b = open();
a.on('connect', () => a.emit('join', room));
a.on('other_joined', () => console.log('ready'));
a.on('joined', () => b.emit('join', room));
let gone = 0;
for (const [name, s] of [['a', a], ['b', b]]) {
  s.on('disconnect', (reason) => {
    console.log(`disconnect ${name} ${reason}`);
    if (++gone === 2) process.exit(0);
  });
}
setTimeout(() => { console.log('timeout'); process.exit(1); }, 60000);
