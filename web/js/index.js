// The landing page: pick or generate a room name, then go to the call page.
import { validRoom } from './protocol.js';
import { initLanguage, onLanguageChange, t } from './locale.js';
import { newRoomName } from './access.js';

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new (...a: any[]) => T} type
 * @returns {T}
 */
function el(id, type) {
    const e = document.getElementById(id);
    if (!(e instanceof type)) throw new Error(`#${id} missing`);
    return e;
}

const form = el('roomform', HTMLFormElement);
const input = el('room', HTMLInputElement);
const generate = el('generate', HTMLButtonElement);
const relay = el('relay', HTMLInputElement);
const error = el('roomerror', HTMLElement);
/** @type {string | null} the catalogue key of the error shown, so a language switch can redo it */
let errorKey = null;

/** @param {string | null} key */
function showError(key) {
    errorKey = key;
    error.textContent = key ? t(key) : '';
}

function check() {
    const name = input.value.trim();
    const ok = validRoom(name);
    showError(ok || name === '' ? null : 'landing.bad');
    input.setAttribute('aria-invalid', String(!ok && name !== ''));
    return ok ? name : null;
}

initLanguage(el('lang', HTMLSelectElement));
document.title = t('app.title');
onLanguageChange(() => {
    document.title = t('app.title');
    showError(errorKey);
});

generate.addEventListener('click', () => {
    input.value = newRoomName();
    check();
    input.focus();
});

input.addEventListener('input', check);

/** @param {string} name @returns {URL} the call page of room name */
function roomURL(name) {
    const url = new URL('/room.html', location.origin);
    url.searchParams.set('room', name);
    if (relay.checked) url.searchParams.set('relay', '1');
    return url;
}

// New call: a private room nobody can guess, its link ready to paste to the other person.
el('newcall', HTMLButtonElement).addEventListener('click', async () => {
    const url = roomURL(newRoomName());
    // The clipboard may be refused (permissions, an iframe); the room page offers its copy button too.
    await Promise.resolve().then(() => navigator.clipboard.writeText(url.toString())).catch(() => {});
    location.assign(url.toString());
});

form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = check();
    if (!name) {
        showError('landing.empty');
        input.focus();
        return;
    }
    location.assign(roomURL(name).toString());
});
