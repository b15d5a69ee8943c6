// Snapshots and other files the page makes: a video frame as PNG, and handing a Blob to the user as a download.

/**
 * The video's current frame at its own resolution, as PNG; null when it shows no picture yet.
 * @param {HTMLVideoElement} video
 * @returns {Promise<Blob | null>}
 */
export function snapshot(video) {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return Promise.resolve(null);
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    if (!ctx) return Promise.resolve(null);
    ctx.drawImage(video, 0, 0, w, h);
    return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

/**
 * Offers blob as a download named name.
 * @param {Blob} blob
 * @param {string} name
 */
export function download(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    // The browser has taken the blob once the click's navigation started; a minute is ample.
    window.setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/**
 * A file name with the local date and time, e.g. duet-2026-12-01-165312.png.
 * @param {string} ext
 * @param {Date} [now]
 */
export function fileName(ext, now = new Date()) {
    const p = (/** @type {number} */ n) => String(n).padStart(2, '0');
    const d = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
    return `duet-${d}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}.${ext}`;
}
