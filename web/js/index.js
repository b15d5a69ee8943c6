// The landing page: pick or generate a room name, then go to the call page.
import { validRoom } from './protocol.js';

const form = document.getElementById('roomform');
const input = document.getElementById('room');
const generate = document.getElementById('generate');
const relay = document.getElementById('relay');
const error = document.getElementById('roomerror');

// Letters and digits only, so a generated name reads well aloud and never needs escaping.
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

function randomRoom(length = 10) {
    const bytes = new Uint8Array(length);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join('');
}

function check() {
    const name = input.value.trim();
    const ok = validRoom(name);
    error.textContent = ok || name === '' ? '' : 'Use 1 to 64 letters, digits, - or _ (no spaces).';
    input.setAttribute('aria-invalid', String(!ok && name !== ''));
    return ok ? name : null;
}

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
        error.textContent = 'Enter a room name, or press Generate.';
        input.focus();
        return;
    }
    const url = new URL('/room.html', location.origin);
    url.searchParams.set('room', name);
    if (relay.checked) url.searchParams.set('relay', '1');
    location.assign(url.toString());
});
