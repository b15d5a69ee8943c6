// Private rooms in the page: unguessable room names, the invite token a minted link carries, and
// join's options (docs/protocol.md). It knows nothing of the DOM.

// Generated names: NAME_GROUPS groups of NAME_GROUP_LEN symbols of NAME_ALPHABET joined by '-',
// 100 random bits. The server mints the same shape (internal/access/name.go): keep them equal.
export const NAME_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const NAME_GROUPS = 4;
export const NAME_GROUP_LEN = 5;

// newRoomName draws a fresh name; 256 is a multiple of 32, so every symbol is equally likely.
export function newRoomName(randomBytes = (n) => crypto.getRandomValues(new Uint8Array(n))) {
    const bytes = randomBytes(NAME_GROUPS * NAME_GROUP_LEN);
    const groups = [];
    for (let g = 0; g < NAME_GROUPS; g++) {
        const group = bytes.slice(g * NAME_GROUP_LEN, (g + 1) * NAME_GROUP_LEN);
        groups.push(Array.from(group, (b) => NAME_ALPHABET[b % 32]).join(''));
    }
    return groups.join('-');
}

// inviteToken reads the token of a link minted by POST /api/rooms from the URL's fragment
// ("#token=…"), which browsers never send to a server.
export function inviteToken(hash) {
    return new URLSearchParams(String(hash || '').replace(/^#/, '')).get('token') || '';
}

// joinOptions is join's second argument, or undefined when there is nothing to send, so that a
// plain join(room) stays what classic clients send.
export function joinOptions({ token = '', password = '' } = {}) {
    const options = {};
    if (token) options.token = token;
    if (password) options.password = password;
    return Object.keys(options).length ? options : undefined;
}

// The refusals that ask the user for the room's password.
export const PASSWORD_CODES = new Set(['password_required', 'wrong_password']);
