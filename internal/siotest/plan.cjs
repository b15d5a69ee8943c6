// Drives duet with the real socket.io JavaScript client through a plan read as JSON from stdin:
// {url, transports, client: 4|2, steps: [...]}. Exits 1 with the first step that did not hold.
// Steps: {connect: "a"} | {emit: "a", event, args} | {expect: "a", event, args} | {close: "a"}
// | {quiet: "a", ms} (no event arrives) | {collect: ["a","b","c"], counts: {joined: 2, full: 1}}
// | {connect: "x", refused: "text"} (connect_error containing text)
// | {flood: "a", event, args, count} (emit count times at once)
// | {count: "b", event, ms, min, max} (after ms, between min and max such events queued; drops them)
// | {connectMany: n, localAddress, min, max} (n connections at once; between min and max succeed).
// A connect step may carry localAddress (a 127.x source; websocket only), origin (the Origin header),
// transports and url (another server than the plan's, e.g. a second node).
// A client's disconnect arrives in its queue as the event "disconnect" with the reason.
// In expected args "$a" stands for client a's socket id and "*" for any value; objects are compared
// with their key order. An expected "=k" takes any string and keeps it as "$k", which later
// expected and emitted args (objects too) may name.
'use strict';
const timeoutMs = 5000;

async function main() {
  const plan = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const io = plan.client === 2 ? require('socket.io-client-v2') : require('socket.io-client').io;
  const clients = {};
  const ids = {}; // kept after a client closes, when socket.id is gone

  for (const [i, step] of plan.steps.entries()) {
    const fail = (msg) => { throw new Error(`step ${i} ${JSON.stringify(step)}: ${msg}`); };
    if (step.connect && step.refused) {
      const err = await connect(io, plan, step).then(() => null, (e) => e);
      if (!err || !err.message.includes(step.refused)) fail(`got ${err && err.message}`);
    } else if (step.connect) {
      clients[step.connect] = await connect(io, plan, step);
      ids['$' + step.connect] = clients[step.connect].socket.id;
    } else if (step.flood) {
      for (let n = 0; n < step.count; n++) clients[step.flood].socket.emit(step.event, ...step.args);
    } else if (step.count) {
      await new Promise((r) => setTimeout(r, step.ms));
      const c = clients[step.count];
      const n = c.queue.filter(([e]) => e === step.event).length;
      c.queue.splice(0, c.queue.length, ...c.queue.filter(([e]) => e !== step.event));
      if (n < step.min || n > step.max) fail(`got ${n}`);
    } else if (step.connectMany) {
      const results = await Promise.allSettled(Array.from({ length: step.connectMany }, () => connect(io, plan, step)));
      const ok = results.filter((r) => r.status === 'fulfilled');
      ok.forEach((r) => r.value.socket.close());
      if (ok.length < step.min || ok.length > step.max) fail(`${ok.length} connected`);
    } else if (step.emit) {
      clients[step.emit].socket.emit(step.event, ...substitute(step.args || [], ids));
    } else if (step.expect) {
      const got = await clients[step.expect].next(fail);
      const want = [step.event, ...substitute(step.args || [], ids)];
      if (!match(got, want, ids)) {
        fail(`got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      }
    } else if (step.close) {
      clients[step.close].socket.close();
    } else if (step.quiet) {
      await new Promise((r) => setTimeout(r, step.ms));
      const q = clients[step.quiet].queue;
      if (q.length) fail(`unexpected ${JSON.stringify(q[0])}`);
    } else if (step.collect) {
      const counts = {};
      for (const name of step.collect) {
        const [event] = await clients[name].next(fail);
        counts[event] = (counts[event] || 0) + 1;
      }
      if (JSON.stringify(sorted(counts)) !== JSON.stringify(sorted(step.counts))) {
        fail(`got ${JSON.stringify(counts)}`);
      }
    } else {
      fail('unknown step');
    }
  }
  for (const c of Object.values(clients)) c.socket.close();
}

// connect opens one client and queues every event it receives, in order.
function connect(io, plan, step) {
  const opts = { transports: step.transports || plan.transports, rejectUnauthorized: false, forceNew: true, reconnection: false };
  if (step.localAddress) opts.localAddress = step.localAddress;
  if (step.origin) opts.extraHeaders = { Origin: step.origin };
  const socket = io(step.url || plan.url, opts);
  const queue = [];
  const waiters = [];
  const push = (ev) => (waiters.length ? waiters.shift()(ev) : queue.push(ev));
  socket.on('disconnect', (reason) => push(['disconnect', reason]));
  if (socket.onAny) {
    socket.onAny((...ev) => push(ev));
  } else { // socket.io-client 2.x has no onAny
    for (const name of ['joined', 'other_joined', 'otherjoin', 'full', 'leaved', 'bye', 'message', 'error']) {
      socket.on(name, (...args) => push([name, ...args]));
    }
  }
  const next = (fail) => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(fail('no event within ' + timeoutMs + ' ms')), timeoutMs);
    waiters.push((ev) => { clearTimeout(t); resolve(ev); });
  }));
  return new Promise((resolve, reject) => {
    socket.on('connect', () => resolve({ socket, queue, next }));
    socket.on('connect_error', (err) => {
      socket.close();
      // The refusal's own words travel in the HTTP response of the polling transport.
      const body = err.context && (err.context.responseText || (err.context.target && err.context.target.responseText));
      reject(new Error(`connect_error: ${err.message} ${err.description || ''} ${body || ''}`));
    });
  });
}

function substitute(v, ids) {
  if (typeof v === 'string') return ids[v] ?? v;
  if (Array.isArray(v)) return v.map((x) => substitute(x, ids));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, ids)]));
  return v;
}

function match(got, want, ids) {
  if (want === '*') return got !== undefined;
  if (typeof want === 'string' && want.startsWith('=') && typeof got === 'string') {
    ids['$' + want.slice(1)] = got;
    return true;
  }
  if (typeof want !== 'object' || want === null) return got === want;
  if (typeof got !== 'object' || got === null || Array.isArray(got) !== Array.isArray(want)) return false;
  const gk = Object.keys(got);
  const wk = Object.keys(want);
  return gk.join('\u0000') === wk.join('\u0000') && wk.every((k) => match(got[k], want[k], ids));
}

function sorted(o) {
  return Object.fromEntries(Object.entries(o).sort());
}

main().then(() => process.exit(0), (err) => { console.error(err.message); process.exit(1); });
