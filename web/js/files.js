// File transfer between the two pages over its own ordered RTCDataChannel (docs/protocol.md): the JSON messages
// that offer, accept, decline, cancel and finish a file, and progress arithmetic; no DOM. The bytes themselves
// go as binary frames in order between `accept` and `done`.

/** Both sides create the channel themselves (negotiated) with this id. */
export const FILES_LABEL = 'duet-files';
export const FILES_CHANNEL_ID = 101;
export const FILES_VERSION = 1;
/** Bytes per binary frame: well under every browser's maximum message size. */
export const CHUNK_SIZE = 64 * 1024;
/** Bytes the sender reads from the file at a time (Blob.slice), then sends as CHUNK_SIZE frames. */
export const READ_SIZE = 256 * 1024;
/** The sender pauses above this many buffered bytes and resumes once below FILES_LOW_WATER. */
export const FILES_HIGH_WATER = 4 * 1024 * 1024;
export const FILES_LOW_WATER = 1024 * 1024;
/** Longest text frame accepted, in UTF-16 code units. */
export const MAX_FILES_FRAME = 2048;
/** Longest file name kept, in characters. */
export const MAX_FILE_NAME = 255;
/** Files waiting in the sender's queue; more are refused. */
export const MAX_FILE_QUEUE = 20;

/**
 * @typedef {{type: 'offer', id: number, name: string, size: number, mime: string}
 *   | {type: 'accept' | 'decline' | 'cancel', id: number}
 *   | {type: 'done', id: number, sha256: string}} FilesMessage
 */

/**
 * A file name safe to show and to save under: no path, no control characters, bounded.
 * @param {unknown} name
 */
export function cleanFileName(name) {
    if (typeof name !== 'string') return 'file';
    // eslint-disable-next-line no-control-regex
    const base = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '').split(/[/\\]/).pop() || '';
    const s = Array.from(base.trim()).slice(0, MAX_FILE_NAME).join('');
    return s && s !== '.' && s !== '..' ? s : 'file';
}

/** @param {FilesMessage} m */
export function encodeFiles(m) {
    return JSON.stringify({ v: FILES_VERSION, ...m });
}

/**
 * The message in a text frame of the files channel, or null for anything that is not a valid one.
 * @param {unknown} data
 * @returns {FilesMessage | null}
 */
export function decodeFiles(data) {
    if (typeof data !== 'string' || data.length > MAX_FILES_FRAME) return null;
    let m;
    try {
        m = JSON.parse(data);
    } catch {
        return null;
    }
    if (!m || typeof m !== 'object' || Array.isArray(m) || m.v !== FILES_VERSION) return null;
    if (!Number.isSafeInteger(m.id) || m.id < 0) return null;
    switch (m.type) {
    case 'offer':
        if (!Number.isSafeInteger(m.size) || m.size < 0 || typeof m.name !== 'string') return null;
        return { type: 'offer', id: m.id, name: cleanFileName(m.name), size: m.size, mime: typeof m.mime === 'string' && m.mime.length < 128 ? m.mime : '' };
    case 'accept':
    case 'decline':
    case 'cancel':
        return { type: m.type, id: m.id };
    case 'done':
        return typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256) ? { type: 'done', id: m.id, sha256: m.sha256 } : null;
    default:
        return null;
    }
}

/**
 * Transfer rate and time left from bytes done over elapsed seconds.
 * @param {number} done
 * @param {number} size
 * @param {number} seconds
 * @returns {{rate: number, left: number | null}}  bytes per second; seconds left, null while unknown
 */
export function progress(done, size, seconds) {
    if (seconds <= 0 || done <= 0) return { rate: 0, left: null };
    const rate = done / seconds;
    return { rate, left: Math.max(0, (size - done) / rate) };
}

/** @param {Uint8Array} bytes */
export function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A byte count for people: 1.5 MB, 200 MB, 12 KB.
 * @param {number} n
 */
export function formatBytes(n) {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) {
        n /= 1000;
        i++;
    }
    return `${i === 0 || n >= 100 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}
