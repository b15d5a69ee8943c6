// Private rooms in the page: unguessable room names, the invite token a minted link carries, join's
// options and the refusals they can bring (docs/protocol.md). Pure: no DOM.

// Generated names: NAME_GROUPS groups of NAME_GROUP_LEN symbols of NAME_ALPHABET joined by '-',
// 100 random bits. The server mints the same shape (internal/access/name.go): keep them equal.
export const NAME_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const NAME_GROUPS = 4;
export const NAME_GROUP_LEN = 5;

/** @param {number} n @returns {Uint8Array} */
const secureRandom = (n) => crypto.getRandomValues(new Uint8Array(n));

/**
 * A fresh room name; 256 is a multiple of 32, so every symbol is equally likely.
 * @param {(n: number) => Uint8Array} [randomBytes]
 * @returns {string}
 */
export function newRoomName(randomBytes = secureRandom) {
    const bytes = randomBytes(NAME_GROUPS * NAME_GROUP_LEN);
    const groups = [];
    for (let g = 0; g < NAME_GROUPS; g++) {
        const group = Array.from(bytes.subarray(g * NAME_GROUP_LEN, (g + 1) * NAME_GROUP_LEN));
        groups.push(group.map((b) => NAME_ALPHABET[b % 32]).join(''));
    }
    return groups.join('-');
}

/**
 * The token of a link minted by POST /api/rooms, from the URL's fragment ("#token=…"), which browsers
 * never send to a server; '' when there is none.
 * @param {string} hash
 * @returns {string}
 */
export function inviteToken(hash) {
    return new URLSearchParams(hash.replace(/^#/, '')).get('token') || '';
}

/** @typedef {{token?: string, password?: string}} Access */

/**
 * Join's access options (password, token), or undefined when there are none; Signaling.join adds
 * the seat's resume key to them.
 * @param {Access} access
 * @returns {Access | undefined}
 */
export function joinOptions({ token = '', password = '' }) {
    /** @type {Access} */
    const options = {};
    if (token) options.token = token;
    if (password) options.password = password;
    return Object.keys(options).length ? options : undefined;
}

/** The catalogue keys of the join refusals the person can act on, by refusal code. */
export const REFUSALS = Object.freeze(/** @type {Record<string, string>} */ ({
    password_required: 'notice.passwordRequired',
    wrong_password: 'notice.wrongPassword',
    token_required: 'notice.tokenRequired',
    invalid_token: 'notice.invalidToken',
    expired_token: 'notice.expiredToken',
    rate_limited: 'notice.tooManyTries',
}));

/** The refusals answered by typing the room's password. */
export const PASSWORD_CODES = Object.freeze(['password_required', 'wrong_password']);
