// What the page remembers between visits (localStorage): name, devices, join toggles, view choices.

/**
 * @typedef {object} Prefs
 * @property {string} name
 * @property {string} camera   deviceId, '' for the default
 * @property {string} mic
 * @property {string} speaker
 * @property {boolean} micOff  join with the microphone off
 * @property {boolean} cameraOff
 * @property {boolean} cue     sound when the other person arrives or leaves
 * @property {string} corner   where the self view sits: br, bl, tl, tr
 * @property {boolean} selfHidden
 */

const KEY = 'duet:prefs';
export const CORNERS = Object.freeze(['br', 'bl', 'tl', 'tr']);

/** @type {Prefs} */
const DEFAULTS = Object.freeze({
    name: '', camera: '', mic: '', speaker: '', micOff: false, cameraOff: false, cue: true, corner: 'br', selfHidden: false,
});

/** @returns {Prefs} */
export function loadPrefs() {
    /** @type {any} */
    let saved = {};
    try {
        saved = JSON.parse(localStorage.getItem(KEY) || '{}') || {};
    } catch {
        // Unreadable or blocked storage: the defaults.
    }
    /** @type {any} */
    const out = { ...DEFAULTS };
    for (const [k, def] of Object.entries(DEFAULTS)) {
        if (typeof saved[k] === typeof def) out[k] = saved[k];
    }
    if (!CORNERS.includes(out.corner)) out.corner = DEFAULTS.corner;
    return out;
}

/** @param {Prefs} prefs */
export function savePrefs(prefs) {
    try {
        localStorage.setItem(KEY, JSON.stringify(prefs));
    } catch {
        // Private mode: remembered for this page only.
    }
}
