// The landing page: pick or generate a room name, then go to the call page.
import { validRoom } from './protocol.js';
import { initLanguage, onLanguageChange, t } from './locale.js';

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

// Letters and digits only, so a generated name reads well aloud and never needs escaping.
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

function randomRoom(length = 10) {
    const bytes = new Uint8Array(length);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join('');
}

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
    input.value = randomRoom();
    check();
    input.focus();
});

input.addEventListener('input', check);

form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = check();
    if (!name) {
        showError('landing.empty');
        input.focus();
        return;
    }
    const url = new URL('/room.html', location.origin);
    url.searchParams.set('room', name);
    if (relay.checked) url.searchParams.set('relay', '1');
    location.assign(url.toString());
});
