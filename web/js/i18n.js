// The catalogues and their lookup: which language to show and the words for a key. Pure: no DOM.
import en from '../i18n/en.js';
import zhCN from '../i18n/zh-CN.js';

/** @typedef {Readonly<Record<string, string>>} Catalogue */
/** @typedef {Record<string, string | number>} Params */

/** Every language the pages speak, by BCP 47 tag; the first is the fallback for missing keys. */
export const CATALOGUES = Object.freeze(/** @type {Record<string, Catalogue>} */ ({ en, 'zh-CN': zhCN }));
export const FALLBACK = 'en';

/**
 * The supported language closest to the user's preferences (navigator.languages order): an exact tag,
 * then the same primary language (zh-Hans, zh-SG… → zh-CN), else the fallback.
 * @param {readonly string[]} preferred
 * @returns {string}
 */
export function pickLanguage(preferred) {
    const tags = Object.keys(CATALOGUES);
    for (const want of preferred) {
        if (typeof want !== 'string') continue;
        const exact = tags.find((t) => t.toLowerCase() === want.toLowerCase());
        if (exact) return exact;
        const primary = want.split('-')[0].toLowerCase();
        const near = tags.find((t) => t.split('-')[0].toLowerCase() === primary);
        if (near) return near;
    }
    return FALLBACK;
}

/**
 * The words for key in language lang, with {name} replaced from params; the fallback language's words
 * when lang lacks the key, and the key itself when no catalogue has it (a visible, testable gap).
 * @param {string} lang
 * @param {string} key
 * @param {Params} [params]
 * @returns {string}
 */
export function translate(lang, key, params) {
    const cat = CATALOGUES[lang] || CATALOGUES[FALLBACK];
    const text = cat[key] ?? CATALOGUES[FALLBACK][key] ?? key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}
