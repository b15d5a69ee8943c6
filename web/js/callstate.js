// The call's pure logic: the signaling state machine and the words the connection indicator shows; no DOM, no WebRTC.

/** Signaling states, written verbatim into #state (docs/protocol.md). @typedef {'init' | 'joined' | 'joined_conn' | 'joined_unbind' | 'leaved'} CallState */
/** @typedef {'joined' | 'other_joined' | 'offer' | 'bye' | 'leave' | 'full' | 'kicked' | 'fail'} CallEvent */

const IN_ROOM = new Set(['joined', 'joined_conn', 'joined_unbind']);

/**
 * The state after an event, or null when the event changes nothing in that state.
 * @param {CallState} state
 * @param {CallEvent} event
 * @returns {CallState | null}
 */
export function transition(state, event) {
    switch (event) {
    case 'joined':
        return 'joined';
    case 'other_joined':
    case 'offer':
        return IN_ROOM.has(state) ? 'joined_conn' : null;
    case 'bye':
        return IN_ROOM.has(state) ? 'joined_unbind' : null;
    case 'leave':
    case 'full':
    case 'kicked':
        return 'leaved';
    case 'fail':
        return 'init';
    default:
        return null;
    }
}

/**
 * @typedef {object} LinkFacts
 * @property {boolean} active       the user pressed Join and has not left
 * @property {CallState} state
 * @property {boolean} online       the signaling socket is connected
 * @property {string} [peer]        RTCPeerConnection.connectionState, absent without a connection
 * @property {boolean} [relayed]    the selected candidate pair goes through a TURN relay
 */

/**
 * The catalogue key of the connection indicator's words.
 * @param {LinkFacts} f
 * @returns {string}
 */
export function linkStatus(f) {
    if (!f.active) return 'status.idle';
    if (!f.online && f.state !== 'joined_conn') return 'status.reconnecting';
    if (f.state !== 'joined_conn') return 'status.waiting';
    switch (f.peer) {
    case 'connected':
        return f.relayed ? 'status.relayed' : 'status.connected';
    case 'disconnected':
    case 'failed':
        return 'status.reconnecting';
    default:
        return 'status.connecting';
    }
}
