// The camera, microphone and speaker selects: filled from enumerateDevices, showing the device in use.
import { t } from './locale.js';

/**
 * @typedef {object} DeviceSelects
 * @property {HTMLSelectElement} camera
 * @property {HTMLSelectElement} mic
 * @property {HTMLSelectElement} speaker
 */

/** Whether this browser can pick the speaker of a media element. */
export const canPickSpeaker = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

/**
 * Refills the selects; inUse names the device each should show (the live track's, else the remembered one).
 * @param {DeviceSelects} selects
 * @param {{camera: string, mic: string, speaker: string}} inUse
 */
export async function fillDevices(selects, inUse) {
    let list = /** @type {MediaDeviceInfo[]} */ ([]);
    try {
        list = await navigator.mediaDevices.enumerateDevices();
    } catch {
        // No devices API here: the selects say so.
    }
    fill(selects.camera, list.filter((d) => d.kind === 'videoinput'), inUse.camera, 'lobby.camera');
    fill(selects.mic, list.filter((d) => d.kind === 'audioinput'), inUse.mic, 'lobby.mic');
    fill(selects.speaker, list.filter((d) => d.kind === 'audiooutput'), inUse.speaker, 'lobby.speaker');
}

/**
 * @param {HTMLSelectElement} select
 * @param {MediaDeviceInfo[]} devices
 * @param {string} chosen
 * @param {string} kindKey
 */
function fill(select, devices, chosen, kindKey) {
    // Before permission some browsers list devices without ids: nothing to choose between yet.
    const usable = devices.filter((d) => d.deviceId);
    select.replaceChildren();
    if (!usable.length) {
        select.add(new Option(t(devices.length ? 'device.default' : 'device.none'), ''));
        select.disabled = true;
        return;
    }
    usable.forEach((d, i) => select.add(new Option(d.label || t('device.numbered', { kind: t(kindKey), n: i + 1 }), d.deviceId)));
    select.disabled = false;
    if (usable.some((d) => d.deviceId === chosen)) select.value = chosen;
}
