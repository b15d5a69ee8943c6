// The page's language: picks it, fills elements marked with data-i18n* from the catalogue, and switches it
// without a reload. Markup: data-i18n (text), data-i18n-label (aria-label and tooltip),
// data-i18n-placeholder (placeholder); data-shortcut adds the key to the tooltip.
import { CATALOGUES, pickLanguage, translate } from './i18n.js';

/** @typedef {import('./i18n.js').Params} Params */

const STORAGE_KEY = 'duet:lang';

/** @type {Array<() => void>} */
const listeners = [];
let lang = pickLanguage([readSaved(), ...(navigator.languages || [navigator.language])].filter((x) => !!x));

function readSaved() {
    try {
        const saved = localStorage.getItem(STORAGE_KEY) || '';
        return saved in CATALOGUES ? saved : '';
    } catch {
        return '';
    }
}

/**
 * The words for key in the page's language; a parameter that is itself a catalogue key (a reason) is translated too.
 * @param {string} key
 * @param {Params | null} [params]
 * @returns {string}
 */
export function t(key, params) {
    if (!params) return translate(lang, key);
    /** @type {Params} */
    const p = {};
    for (const [k, v] of Object.entries(params)) {
        p[k] = typeof v === 'string' && v in CATALOGUES[lang] ? translate(lang, v) : v;
    }
    return translate(lang, key, p);
}

/** @param {Element} el */
function applyOne(el) {
    if (!(el instanceof HTMLElement)) return;
    const d = el.dataset;
    if (d.i18n) el.textContent = t(d.i18n);
    if (d.i18nLabel) {
        const label = t(d.i18nLabel);
        el.setAttribute('aria-label', label);
        if (el instanceof HTMLButtonElement) el.dataset.tip = d.shortcut ? `${label} (${d.shortcut})` : label;
    }
    if (d.i18nPlaceholder && el instanceof HTMLInputElement) el.placeholder = t(d.i18nPlaceholder);
}

/** Fills every marked element under root. @param {ParentNode} root */
export function applyAll(root) {
    root.querySelectorAll('[data-i18n], [data-i18n-label], [data-i18n-placeholder]').forEach(applyOne);
}

/**
 * Gives an element a new text key and shows it.
 * @param {HTMLElement} el
 * @param {string} key
 */
export function setText(el, key) {
    el.dataset.i18n = key;
    applyOne(el);
}

/**
 * Gives an element a new label key (aria-label and tooltip) and shows it.
 * @param {HTMLElement} el
 * @param {string} key
 */
export function setLabel(el, key) {
    el.dataset.i18nLabel = key;
    applyOne(el);
}

/** @param {() => void} fn called after every language change */
export function onLanguageChange(fn) {
    listeners.push(fn);
}

/** @param {string} tag */
export function setLanguage(tag) {
    if (!(tag in CATALOGUES)) return;
    lang = tag;
    try {
        localStorage.setItem(STORAGE_KEY, tag);
    } catch {
        // Private mode: the choice lasts for this page only.
    }
    document.documentElement.lang = tag;
    applyAll(document);
    for (const fn of listeners) fn();
}

/**
 * Fills the language switch (each language named in itself) and the page, in the picked language.
 * @param {HTMLSelectElement} select
 */
export function initLanguage(select) {
    for (const [tag, cat] of Object.entries(CATALOGUES)) {
        select.add(new Option(cat['lang.name'], tag));
    }
    select.value = lang;
    select.addEventListener('change', () => setLanguage(select.value));
    setLanguage(lang);
}
