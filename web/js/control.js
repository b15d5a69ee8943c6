// The peer-to-peer control protocol: small versioned JSON messages on the `duet-control` RTCDataChannel
// (docs/protocol.md); encode and validate only, no DOM, no WebRTC.

/** The data channel's label; the offerer creates it, the answerer takes it in ondatachannel. */
export const CONTROL_LABEL = 'duet-control';
export const CONTROL_VERSION = 1;
/** Longest message accepted, in UTF-16 code units; anything longer is dropped unread. */
export const MAX_CONTROL_LENGTH = 2048;
/** Longest display name kept, in characters. */
export const MAX_NAME_LENGTH = 64;

/**
 * @typedef {object} PeerState
 * @property {string} name
 * @property {boolean} micOff
 * @property {boolean} cameraOff
 * @property {boolean} sharing
 * @property {boolean} speaking
 */

/** @typedef {({type: 'state'} & PeerState) | {type: 'renegotiate'}} ControlMessage */

const FLAGS = /** @type {const} */ (['micOff', 'cameraOff', 'sharing', 'speaking']);

/**
 * A display name as shown: control characters removed, spaces collapsed, at most MAX_NAME_LENGTH characters.
 * @param {unknown} name
 * @returns {string}
 */
export function cleanName(name) {
    if (typeof name !== 'string') return '';
    // eslint-disable-next-line no-control-regex
    const flat = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
    return Array.from(flat).slice(0, MAX_NAME_LENGTH).join('');
}

/**
 * @param {ControlMessage} msg
 * @returns {string}
 */
export function encodeControl(msg) {
    if (msg.type === 'renegotiate') return JSON.stringify({ v: CONTROL_VERSION, type: 'renegotiate' });
    return JSON.stringify({
        v: CONTROL_VERSION,
        type: 'state',
        name: cleanName(msg.name),
        micOff: !!msg.micOff,
        cameraOff: !!msg.cameraOff,
        sharing: !!msg.sharing,
        speaking: !!msg.speaking,
    });
}

/**
 * The message in a data channel frame, or null for anything that is not a valid message of this version
 * (wrong type, oversize, binary, unknown kind): peers ignore what they do not understand.
 * @param {unknown} data
 * @returns {ControlMessage | null}
 */
export function decodeControl(data) {
    if (typeof data !== 'string' || data.length > MAX_CONTROL_LENGTH) return null;
    let m;
    try {
        m = JSON.parse(data);
    } catch {
        return null;
    }
    if (!m || typeof m !== 'object' || Array.isArray(m) || m.v !== CONTROL_VERSION) return null;
    if (m.type === 'renegotiate') return { type: 'renegotiate' };
    if (m.type !== 'state' || typeof m.name !== 'string') return null;
    for (const f of FLAGS) {
        if (typeof m[f] !== 'boolean') return null;
    }
    return {
        type: 'state', name: cleanName(m.name),
        micOff: m.micOff, cameraOff: m.cameraOff, sharing: m.sharing, speaking: m.speaking,
    };
}
