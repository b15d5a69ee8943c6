// The call page: wires the DOM to the lobby, the call and the signaling; no WebRTC or protocol logic lives here.
import { Signaling, validRoom } from './protocol.js';
import { Call } from './call.js';
import { ChatPanel } from './chatpanel.js';
import { download, fileName, snapshot } from './snapshot.js';
import { applyQuality, isQuality } from './quality.js';
import { GraphRing, pointFrom } from './graphs.js';
import { GraphPanel } from './graphpanel.js';
import { Recording, canRecord } from './record.js';
import { FilePanel } from './filepanel.js';
import { linkStatus } from './callstate.js';
import { SpeakingDetector } from './speaking.js';
import { openMeter, playCue, wakeAudio } from './audio.js';
import { Lobby } from './lobby.js';
import { canPickSpeaker, fillDevices } from './devices.js';
import { CORNERS, loadPrefs, savePrefs } from './prefs.js';
import { initLanguage, onLanguageChange, setLabel, setText, t } from './locale.js';
import { PASSWORD_CODES, inviteToken, joinOptions } from './access.js';

/** @typedef {import('./call.js').MediaView} MediaView */
/** @typedef {import('./call.js').NoticeKind} NoticeKind */
/** @typedef {import('./control.js').PeerState} PeerState */

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
const H = HTMLElement;
const B = HTMLButtonElement;

const params = new URLSearchParams(location.search);
const room = params.get('room') || '';
const relay = params.get('relay') === '1';
// An invite minted by POST /api/rooms rides in the fragment, which never reaches a server's logs.
const token = inviteToken(location.hash);
// How long an information toast stays; errors stay until the next notice.
const TOAST_MS = 6000;
const OLD_TOASTS = 1;

const ui = {
    lang: el('lang', HTMLSelectElement),
    roomName: el('roomname', H),
    copy: el('copylink', B),
    invite: el('invite', B),
    lobby: el('lobby', H),
    lobbyForm: el('lobbyform', HTMLFormElement),
    join: el('connserver', B),
    preview: el('preview', B),
    name: el('displayname', HTMLInputElement),
    password: el('roompassword', HTMLInputElement),
    devices: el('devices', HTMLFieldSetElement),
    speakerField: el('spkfield', H),
    selects: { camera: el('camsel', HTMLSelectElement), mic: el('micsel', HTMLSelectElement), speaker: el('spksel', HTMLSelectElement) },
    joinMicOff: el('joinmicoff', HTMLInputElement),
    joinCameraOff: el('joincamoff', HTMLInputElement),
    relayNote: el('relaynote', H),
    callView: el('callview', H),
    stage: el('stage', H),
    remote: el('remotevideo', HTMLVideoElement),
    remoteEmpty: el('remoteempty', H),
    peerAvatar: el('peeravatar', H),
    peerName: el('peername', H),
    peerNote: el('peernote', H),
    peerMic: el('peermic', H),
    peerShare: el('peershare', H),
    peerSpeaking: el('peerspeaking', H),
    linkStatus: el('linkstatus', H),
    linkText: el('linktext', H),
    selfTile: el('selftile', H),
    local: el('localvideo', HTMLVideoElement),
    selfEmpty: el('selfempty', H),
    selfNote: el('selfnote', H),
    selfMove: el('selfmove', B),
    selfHide: el('selfhide', B),
    panel: el('panel', H),
    panelClose: el('panelclose', B),
    panelDevices: el('paneldevices', H),
    volume: el('volume', HTMLInputElement),
    quality: el('quality', HTMLSelectElement),
    selfShow: el('selfshow', HTMLInputElement),
    cue: el('cue', HTMLInputElement),
    pip: el('pip', B),
    snapshot: el('snapshot', B),
    record: el('record', B),
    recMode: el('recmode', HTMLSelectElement),
    recMine: el('recmine', H),
    recTime: el('rectime', H),
    recPeer: el('recpeer', H),
    mute: el('mute', B),
    camera: el('camera', B),
    share: el('share', B),
    fullscreen: el('fullscreen', B),
    more: el('more', B),
    chatButton: el('chatbtn', B),
    chatClose: el('chatclose', B),
    leave: el('leave', B),
    toasts: el('toasts', H),
    notice: el('notice', H),
    state: el('state', HTMLOutputElement),
    stats: {
        conn: el('stat-conn', H),
        path: el('stat-path', H),
        local: el('stat-local', H),
        remote: el('stat-remote', H),
        rtt: el('stat-rtt', H),
        send: el('stat-send', H),
        recv: el('stat-recv', H),
        res: el('stat-res', H),
        codec: el('stat-codec', H),
    },
};

const prefs = loadPrefs();
const signaling = new Signaling();
const call = new Call(signaling, room, { relay });
const lobby = new Lobby({
    video: el('previewvideo', HTMLVideoElement),
    note: el('previewnote', H),
    level: el('level', H),
    levelBar: el('levelbar', H),
    micOff: ui.joinMicOff,
    cameraOff: ui.joinCameraOff,
});
const chat = new ChatPanel({
    panel: el('chat', H),
    list: el('chatlog', HTMLOListElement),
    form: el('chatform', HTMLFormElement),
    input: el('chatinput', HTMLInputElement),
    button: ui.chatButton,
    badge: el('chatunread', H),
}, () => ui.name.value.trim(), (key) => notice(key, null, 'error'));
const files = new FilePanel(el('transfers', HTMLUListElement), (key) => notice(key, null, 'error'));
const fileInput = el('fileinput', HTMLInputElement);
// Remembered per tab, so a reload mid-call takes the user straight back into the room.
const inCallKey = `duet:in-call:${room}`;

// ---- notices: the newest in #notice, the previous ones briefly above it ----

/** @type {{key: string, params: Record<string, string | number> | null, kind: NoticeKind} | null} */
let current = null;
let toastTimer = 0;

/**
 * @param {string} key
 * @param {Record<string, string | number> | null} params
 * @param {NoticeKind} kind
 */
function notice(key, params, kind) {
    if (current && !ui.notice.hidden) keepOldToast();
    current = { key, params, kind };
    renderNotice();
    clearTimeout(toastTimer);
    if (kind !== 'error') toastTimer = window.setTimeout(hideNotice, TOAST_MS);
}

function renderNotice() {
    if (!current) return;
    const n = ui.notice;
    n.textContent = t(current.key, current.params);
    n.className = current.kind ? `notice notice-${current.kind}` : 'notice';
    // Errors interrupt a screen reader; progress messages wait their turn.
    n.setAttribute('role', current.kind === 'error' ? 'alert' : 'status');
    n.hidden = false;
}

function hideNotice() {
    ui.notice.hidden = true;
    current = null;
}

function keepOldToast() {
    const old = /** @type {HTMLElement} */ (ui.notice.cloneNode(true));
    old.removeAttribute('id');
    old.removeAttribute('role');
    old.removeAttribute('aria-live');
    old.classList.add('old');
    ui.toasts.insertBefore(old, ui.notice);
    const olds = ui.toasts.querySelectorAll('.old');
    if (olds.length > OLD_TOASTS) olds[0].remove();
    window.setTimeout(() => old.remove(), TOAST_MS / 2);
}

// ---- views ----

/** @param {boolean} inCall */
function showView(inCall) {
    ui.lobby.hidden = inCall;
    ui.callView.hidden = !inCall;
    document.body.classList.toggle('incall', inCall);
    // One set of device selects: in the lobby before the call, in the settings panel during it.
    if (inCall) ui.panelDevices.append(ui.devices);
    else ui.lobbyForm.insertBefore(ui.devices, ui.lobbyForm.querySelector('.toggles'));
    if (!inCall) {
        setPanel(false);
        chat.setOpen(false);
        if (recording) toggleRecording();
        ui.recPeer.hidden = true;
    }
}

/** @param {boolean} open */
function setPanel(open) {
    const wasOpen = !ui.panel.hidden;
    // One side panel at a time: settings or chat.
    if (open && chat.open) chat.setOpen(false);
    ui.panel.hidden = !open;
    ui.more.setAttribute('aria-expanded', String(open));
    // Keyboard users land in the panel, and back on the button that opened it.
    if (open && !wasOpen) ui.panelClose.focus();
    else if (!open && wasOpen && ui.panel.contains(document.activeElement)) ui.more.focus();
}

// ---- the call view ----

/** @type {MediaView} */
let media = { active: false, hasAudio: false, hasVideo: false, micMuted: false, cameraOff: false, sharing: false };
/** @type {PeerState | null} */
let peer = null;

/** @param {MediaView} m */
function showMedia(m) {
    media = m;
    ui.leave.disabled = !m.active;
    const micOff = m.micMuted || !m.hasAudio;
    const camOff = m.cameraOff || !m.hasVideo;
    ui.mute.setAttribute('aria-pressed', String(micOff));
    setLabel(ui.mute, micOff ? 'ctl.unmute' : 'ctl.mute');
    ui.camera.setAttribute('aria-pressed', String(camOff));
    setLabel(ui.camera, camOff ? 'ctl.cameraOn' : 'ctl.cameraOff');
    ui.share.setAttribute('aria-pressed', String(m.sharing));
    setLabel(ui.share, m.sharing ? 'ctl.stopShare' : 'ctl.share');
    for (const b of [ui.mute, ui.camera, ui.share, ui.record]) b.disabled = !m.active;
    // Mirror the camera preview only: a mirrored screen would be unreadable.
    ui.local.classList.toggle('screen', m.sharing);
    ui.selfEmpty.hidden = m.sharing || !camOff;
    ui.selfEmpty.textContent = initial(ui.name.value.trim() || t('video.you'));
    // What the call sends, said where one looks for it: on one's own tile.
    const note = !m.active || m.hasVideo || m.sharing ? null : m.hasAudio ? 'self.audioOnly' : 'self.receiveOnly';
    ui.selfNote.hidden = !note;
    if (note) setText(ui.selfNote, note);
    watchSpeaking();
}

/** The first character of a name, for the placeholder avatar. @param {string} name */
function initial(name) {
    return (Array.from(name.trim())[0] || '?').toUpperCase();
}

function showRemote() {
    const stream = call.remoteStream;
    if (ui.remote.srcObject !== stream) {
        ui.remote.srcObject = stream;
        if (stream) playRemote();
    }
    const video = stream ? stream.getVideoTracks().find((tr) => tr.readyState === 'live') : undefined;
    const inCall = call.state === 'joined_conn';
    const showsVideo = !!video && !video.muted && !(peer && peer.cameraOff && !peer.sharing);
    ui.remoteEmpty.hidden = inCall && showsVideo;
    const name = (peer && peer.name) || t('peer.someone');
    ui.peerAvatar.hidden = !inCall;
    ui.peerAvatar.textContent = initial(name);
    ui.peerName.textContent = inCall ? name : t('peer.alone');
    // Alone in the room, the next thing to do is send the link: offer it where the eyes are.
    ui.invite.hidden = inCall || call.state === 'init' || call.state === 'leaved';
    ui.peerNote.textContent = !inCall ? '' : t(peer && peer.cameraOff ? 'peer.cameraOff' : 'peer.noVideo');
    ui.peerMic.hidden = !(inCall && peer && peer.micOff);
    ui.peerShare.hidden = !(inCall && peer && peer.sharing);
    ui.peerSpeaking.hidden = !(inCall && peer && peer.speaking && !peer.micOff);
    ui.stage.classList.toggle('speaking', !!(inCall && peer && peer.speaking));
}

function playRemote() {
    ui.remote.play().catch(() => {
        // Autoplay with sound needs a user gesture in some browsers: ask for one instead of staying silent.
        notice('notice.playBlocked', null, 'info');
    });
}

function showLink() {
    const key = linkStatus({
        active: call.active,
        state: call.state,
        online: signaling.connected,
        peer: call.pc ? call.pc.connectionState : undefined,
        relayed: call.relayed,
    });
    ui.linkStatus.dataset.status = key.replace('status.', '');
    setText(ui.linkText, key);
}

/** @param {any} s */
function showStats(s) {
    const st = ui.stats;
    if (!s) {
        for (const e of Object.values(st)) e.textContent = '–';
        return;
    }
    st.conn.textContent = s.connectionState || '–';
    if (s.path) {
        setText(st.path, s.path);
    } else {
        delete st.path.dataset.i18n;
        st.path.textContent = '–';
    }
    st.local.textContent = s.localCandidateType || '–';
    st.remote.textContent = s.remoteCandidateType || '–';
    st.rtt.textContent = typeof s.rtt === 'number' ? `${Math.round(s.rtt * 1000)} ms` : '–';
    st.send.textContent = typeof s.sendKbps === 'number' ? `${Math.round(s.sendKbps)} kbit/s` : '–';
    st.recv.textContent = typeof s.recvKbps === 'number' ? `${Math.round(s.recvKbps)} kbit/s` : '–';
    st.res.textContent = s.frameWidth ? `${s.frameWidth}×${s.frameHeight}` : '–';
    st.codec.textContent = s.codec || '–';
    if (typeof s.timestamp === 'number') {
        ring.push(pointFrom(s, lastLost));
        lastLost = s.packetsLost;
        graphPanel.update();
    }
}

// ---- send quality: applied to the video sender on a choice, and checked once a second (new track, new call) ----

/** @type {import('./quality.js').Quality} */
let quality = 'auto';

function applySendQuality() {
    const pc = call.pc;
    if (!pc) return;
    for (const sender of pc.getSenders()) {
        applyQuality(sender, quality, !!call.screenTrack).catch((e) => {
            notice('notice.qualityFailed', { reason: e instanceof Error ? e.message : String(e) }, 'error');
        });
    }
}

// ---- graphs: the last minute of stats ----

const ring = new GraphRing();
/** @type {number | null} */
let lastLost = null;
const graphPanel = new GraphPanel(el('graphs', H), ring);

// ---- speaking: our own microphone's level, told to the other person ----

/** @type {import('./audio.js').LevelMeter | null} */
let meter = null;
let meterTimer = 0;
const detector = new SpeakingDetector();

function watchSpeaking() {
    const mic = call.micTrack;
    if (meter && meter.track === mic) return;
    if (meter) meter.close();
    clearInterval(meterTimer);
    meter = null;
    if (!mic) return;
    const m = openMeter(mic);
    if (!m) return;
    meter = m;
    meterTimer = window.setInterval(() => {
        const speaking = detector.update(mic.enabled ? m.level() : 0, performance.now());
        call.setSpeaking(speaking);
        ui.selfTile.classList.toggle('speaking', speaking);
    }, 100);
}

// ---- devices ----

function refreshDevices() {
    const use = (/** @type {MediaStreamTrack | null} */ tr, /** @type {string} */ saved) => (tr && tr.getSettings().deviceId) || saved;
    const live = call.active ? { video: call.cameraTrack, audio: call.micTrack } : { video: lobby.track('video'), audio: lobby.track('audio') };
    return fillDevices(ui.selects, {
        camera: use(live.video, prefs.camera),
        mic: use(live.audio, prefs.mic),
        speaker: prefs.speaker,
    });
}

/** @param {boolean} picked  the user chose it just now: say so when it fails (a remembered one may be gone) */
function setSpeaker(picked) {
    if (!canPickSpeaker || !prefs.speaker) return;
    ui.remote.setSinkId(prefs.speaker).catch((e) => {
        if (picked) notice('notice.deviceFailed', { reason: String(e && e.name) }, 'error');
    });
}

/**
 * @param {'audio' | 'video'} kind
 * @param {string} id
 */
async function pickDevice(kind, id) {
    if (kind === 'audio') prefs.mic = id;
    else prefs.camera = id;
    savePrefs(prefs);
    if (call.active) await call.useDevice(kind, id);
    else await lobby.switchDevice(kind, id);
    refreshDevices();
}

// ---- self view ----

function placeSelf() {
    for (const c of CORNERS) ui.selfTile.classList.toggle(`corner-${c}`, c === prefs.corner);
    ui.selfTile.hidden = prefs.selfHidden;
    ui.selfShow.checked = !prefs.selfHidden;
}

// ---- full screen, picture in picture ----

function toggleFullscreen() {
    if (!document.fullscreenEnabled) return;
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else document.documentElement.requestFullscreen().catch(() => {});
}

function showFullscreen() {
    const on = !!document.fullscreenElement;
    ui.fullscreen.setAttribute('aria-pressed', String(on));
    setLabel(ui.fullscreen, on ? 'ctl.exitFullscreen' : 'ctl.fullscreen');
}

async function togglePip() {
    try {
        if (document.pictureInPictureElement) await document.exitPictureInPicture();
        else await ui.remote.requestPictureInPicture();
    } catch (e) {
        notice('notice.pipFailed', { reason: e instanceof Error ? e.message : String(e) }, 'error');
    }
}

async function saveSnapshot() {
    const png = await snapshot(ui.remote);
    if (!png) {
        notice('notice.noPicture', null, 'error');
        return;
    }
    download(png, fileName('png'));
}

// ---- recording ----

/** @type {Recording | null} */
let recording = null;
let recTimer = 0;

async function toggleRecording() {
    if (recording) {
        const r = recording;
        recording = null;
        showRecording();
        download(await r.stop(), fileName('webm'));
        return;
    }
    const audio = [call.micTrack, ...(call.remoteStream ? call.remoteStream.getAudioTracks() : [])];
    try {
        recording = new Recording({
            remote: ui.remote,
            local: ui.local,
            audio: /** @type {MediaStreamTrack[]} */ (audio.filter((tr) => tr && tr.readyState === 'live')),
            mode: ui.recMode.value === 'remote' ? 'remote' : 'both',
        });
    } catch (e) {
        notice('notice.recordFailed', { reason: e instanceof Error ? e.message : String(e) }, 'error');
    }
    showRecording();
}

function showRecording() {
    const on = !!recording;
    chat.setRecording(on);
    ui.record.setAttribute('aria-pressed', String(on));
    setLabel(ui.record, on ? 'ctl.stopRecord' : 'ctl.record');
    ui.recMine.hidden = !on;
    clearInterval(recTimer);
    const tick = () => {
        const s = recording ? Math.floor(recording.elapsed) : 0;
        ui.recTime.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    };
    tick();
    if (on) recTimer = window.setInterval(tick, 1000);
}

// ---- arrival: a cue, and the tab title while the tab is hidden ----

/** @param {boolean} arrived */
function arrival(arrived) {
    if (prefs.cue) playCue(arrived);
    if (arrived && document.hidden) document.title = t('title.arrived');
}

function showTitle() {
    document.title = validRoom(room) ? t('room.title', { room }) : t('app.title');
}

// ---- the link ----

async function copyLink() {
    const url = new URL('/room.html', location.origin);
    url.searchParams.set('room', room);
    if (token) url.hash = 'token=' + token;
    const text = url.toString();
    try {
        await navigator.clipboard.writeText(text);
        notice('notice.copied', { url: text }, 'info');
    } catch (e) {
        // The clipboard API needs a permission some browsers refuse; show the link so it can be copied by hand.
        notice('notice.copyManual', { url: text }, 'info');
    }
}

// ---- joining ----

async function join() {
    prefs.name = ui.name.value.trim();
    prefs.micOff = ui.joinMicOff.checked;
    prefs.cameraOff = ui.joinCameraOff.checked;
    savePrefs(prefs);
    ui.join.disabled = true;
    call.joinOptions = joinOptions({ token, password: ui.password.value });
    const cap = await lobby.take();
    ui.join.disabled = false;
    showView(true);
    try {
        await call.join(cap && cap.stream, {
            micMuted: prefs.micOff,
            cameraOff: prefs.cameraOff,
            name: prefs.name,
            devices: { audio: prefs.mic, video: prefs.camera },
            audioError: cap && cap.audioError,
            videoError: cap && cap.videoError,
        });
    } catch (e) {
        console.error('duet: join failed', e);
        notice('notice.stepFailed', { reason: e instanceof Error ? e.message : String(e) }, 'error');
    }
}

/** @param {string} state */
function stateChanged(state) {
    ui.state.textContent = state;
    if (state === 'leaved' || state === 'init') {
        sessionStorage.removeItem(inCallKey);
        // The server's answer to a leave repeats the state: the lobby is already back (maybe previewing again).
        if (ui.callView.hidden) return;
        // Back to the lobby without a preview: the camera stays off until the user asks for it.
        showView(false);
        ui.preview.hidden = false;
        lobby.stop();
    } else {
        sessionStorage.setItem(inCallKey, '1');
    }
    showRemote();
}

/** @param {KeyboardEvent} e */
function shortcut(e) {
    if (ui.callView.hidden || e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    if (e.key === 'Escape' && (!ui.panel.hidden || chat.open)) {
        setPanel(false);
        chat.setOpen(false);
        return;
    }
    const target = e.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return;
    /** @type {Record<string, HTMLButtonElement>} */
    const keys = { m: ui.mute, v: ui.camera, f: ui.fullscreen };
    const button = keys[e.key.toLowerCase()];
    if (!button || button.disabled || button.hidden) return;
    e.preventDefault();
    button.click();
}

function wire() {
    call.onstate = stateChanged;
    call.onnotice = notice;
    // Only a stream with video: one without never has metadata, and the video element would wait for it.
    call.onlocalstream = (stream) => { ui.local.srcObject = stream && stream.getVideoTracks().length ? stream : null; };
    call.onremotestream = showRemote;
    call.onpeer = (p) => {
        peer = p;
        if (!p) ui.recPeer.hidden = true;
        showRemote();
    };
    chat.onpeerrecording = (on) => { ui.recPeer.hidden = !on; };
    call.onmedia = showMedia;
    call.onstats = (s) => {
        showStats(s);
        applySendQuality();
    };
    call.onlink = showLink;
    call.onarrival = arrival;
    call.onpeerconnection = (pc) => {
        chat.attach(pc);
        files.attach(pc);
    };
    files.onincoming = () => {
        if (!chat.open) ui.chatButton.click();
    };
    el('filebtn', B).addEventListener('click', () => fileInput.click());
    fileInput.addEventListener('change', () => {
        if (fileInput.files) files.add(Array.from(fileInput.files));
        fileInput.value = '';
    });
    ui.stage.addEventListener('dragover', (e) => {
        if (e.dataTransfer && e.dataTransfer.types.includes('Files')) e.preventDefault();
    });
    ui.stage.addEventListener('drop', (e) => {
        if (!e.dataTransfer || !e.dataTransfer.files.length) return;
        e.preventDefault();
        files.add(Array.from(e.dataTransfer.files));
        if (!chat.open) ui.chatButton.click();
    });
    // Back in the lobby after a refusal the password answers: ask for it there.
    call.onrefused = (code) => { if (PASSWORD_CODES.includes(code)) ui.password.focus(); };

    ui.lobbyForm.addEventListener('submit', (e) => {
        e.preventDefault();
        join();
    });
    ui.preview.addEventListener('click', () => {
        ui.preview.hidden = true;
        lobby.start({ audio: prefs.mic, video: prefs.camera });
    });
    lobby.onchange = refreshDevices;
    ui.selects.camera.addEventListener('change', () => pickDevice('video', ui.selects.camera.value));
    ui.selects.mic.addEventListener('change', () => pickDevice('audio', ui.selects.mic.value));
    ui.selects.speaker.addEventListener('change', () => {
        prefs.speaker = ui.selects.speaker.value;
        savePrefs(prefs);
        setSpeaker(true);
    });
    if (navigator.mediaDevices) navigator.mediaDevices.addEventListener('devicechange', refreshDevices);
    ui.name.addEventListener('change', () => {
        prefs.name = ui.name.value.trim();
        savePrefs(prefs);
        call.setName(prefs.name);
    });

    ui.leave.addEventListener('click', () => call.leave());
    ui.mute.addEventListener('click', () => (call.micTrack ? call.setMicMuted(!call.micMuted) : call.addDevice('audio')));
    ui.camera.addEventListener('click', () => (call.cameraTrack ? call.setCameraOff(!call.cameraOff) : call.addDevice('video')));
    ui.share.addEventListener('click', () => (call.screenTrack ? call.stopShare() : call.startShare()));
    ui.fullscreen.addEventListener('click', toggleFullscreen);
    ui.stage.addEventListener('dblclick', (e) => {
        if (!(e.target instanceof Element) || !e.target.closest('#selftile, #panel, #chat')) toggleFullscreen();
    });
    document.addEventListener('fullscreenchange', showFullscreen);
    ui.more.addEventListener('click', () => setPanel(ui.panel.hidden));
    ui.panelClose.addEventListener('click', () => setPanel(false));
    ui.chatButton.addEventListener('click', () => {
        if (!chat.open) setPanel(false);
        chat.setOpen(!chat.open);
    });
    ui.chatClose.addEventListener('click', () => chat.setOpen(false));
    ui.copy.addEventListener('click', copyLink);
    ui.invite.addEventListener('click', copyLink);
    ui.remote.addEventListener('click', playRemote);
    ui.volume.addEventListener('input', () => { ui.remote.volume = Number(ui.volume.value); });
    ui.pip.addEventListener('click', togglePip);
    el('details', HTMLDetailsElement).addEventListener('toggle', () => graphPanel.update());
    ui.quality.addEventListener('change', () => {
        if (isQuality(ui.quality.value)) quality = ui.quality.value;
        applySendQuality();
    });
    ui.snapshot.addEventListener('click', saveSnapshot);
    ui.record.addEventListener('click', toggleRecording);
    ui.selfMove.addEventListener('click', () => {
        prefs.corner = CORNERS[(CORNERS.indexOf(prefs.corner) + 1) % CORNERS.length];
        savePrefs(prefs);
        placeSelf();
    });
    ui.selfHide.addEventListener('click', () => {
        prefs.selfHidden = true;
        savePrefs(prefs);
        placeSelf();
    });
    ui.selfShow.addEventListener('change', () => {
        prefs.selfHidden = !ui.selfShow.checked;
        savePrefs(prefs);
        placeSelf();
    });
    ui.cue.addEventListener('change', () => {
        prefs.cue = ui.cue.checked;
        savePrefs(prefs);
    });
    ui.toasts.addEventListener('click', (e) => {
        if (e.target === ui.notice) hideNotice();
    });
    document.addEventListener('keydown', shortcut);
    document.addEventListener('pointerdown', wakeAudio);
    document.addEventListener('keydown', wakeAudio);
    document.addEventListener('visibilitychange', () => {
        if (!document.hidden) showTitle();
    });
    onLanguageChange(() => {
        showTitle();
        showMedia(media);
        renderNotice();
        showRemote();
        showLink();
        refreshDevices();
        chat.relabel();
        graphPanel.build();
        if (!validRoom(room)) ui.roomName.textContent = t('room.none');
    });
}

function start() {
    initLanguage(ui.lang);
    showTitle();
    ui.state.textContent = 'init';
    ui.share.hidden = !(navigator.mediaDevices && 'getDisplayMedia' in navigator.mediaDevices);
    ui.fullscreen.hidden = !document.fullscreenEnabled;
    ui.pip.hidden = !document.pictureInPictureEnabled;
    ui.record.hidden = !canRecord();
    el('recfield', H).hidden = ui.record.hidden;
    ui.speakerField.hidden = !canPickSpeaker;
    ui.relayNote.hidden = !relay;
    ui.name.value = prefs.name;
    ui.joinMicOff.checked = prefs.micOff;
    ui.joinCameraOff.checked = prefs.cameraOff;
    ui.cue.checked = prefs.cue;
    placeSelf();
    setSpeaker(false);
    showMedia(media);
    showStats(null);
    showView(false);
    if (!validRoom(room)) {
        ui.roomName.textContent = t('room.none');
        ui.lobby.hidden = true;
        el('badroom', H).hidden = false;
        ui.join.disabled = true;
        ui.copy.disabled = true;
        return;
    }
    ui.roomName.textContent = room;
    wire();
    showLink();
    showRemote();

    // Read-only hooks for end-to-end tests and debugging.
    Object.defineProperty(window, 'duet', {
        value: Object.freeze({
            pc: () => call.pc,
            state: () => call.state,
            localStream: () => call.localStream,
            remoteStream: () => call.remoteStream,
            peer: () => call.peer,
            notice: () => (current ? current.key : null),
            graphs: () => graphPanel.snapshot(),
            socketId: () => signaling.id,
            connected: () => signaling.connected,
        }),
    });

    signaling.connect();
    if (sessionStorage.getItem(inCallKey)) {
        join();
    } else {
        lobby.start({ audio: prefs.mic, video: prefs.camera });
    }
}

start();
