// The call page: wires the DOM to the call and the signaling; no WebRTC or protocol logic lives here.
import { Signaling, validRoom } from './protocol.js';
import { Call } from './call.js';

const $ = (id) => document.getElementById(id);

const params = new URLSearchParams(location.search);
const room = params.get('room') || '';
const relay = params.get('relay') === '1';

const ui = {
    roomName: $('roomname'),
    copy: $('copylink'),
    join: $('connserver'),
    leave: $('leave'),
    mute: $('mute'),
    camera: $('camera'),
    share: $('share'),
    state: $('state'),
    notice: $('notice'),
    local: $('localvideo'),
    remote: $('remotevideo'),
    remoteEmpty: $('remoteempty'),
    relayNote: $('relaynote'),
    stats: {
        conn: $('stat-conn'),
        local: $('stat-local'),
        remote: $('stat-remote'),
        rtt: $('stat-rtt'),
        send: $('stat-send'),
        recv: $('stat-recv'),
        res: $('stat-res'),
    },
};

function notice(text, kind) {
    ui.notice.textContent = text;
    ui.notice.className = kind ? `notice notice-${kind}` : 'notice';
    // Errors interrupt a screen reader; progress messages wait their turn.
    ui.notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

function setPressed(button, pressed, onLabel, offLabel) {
    button.setAttribute('aria-pressed', String(pressed));
    button.textContent = pressed ? onLabel : offLabel;
}

function showMedia({ active, hasMedia, micMuted, cameraOff, sharing }) {
    ui.join.disabled = active;
    ui.leave.disabled = !active && !hasMedia;
    ui.mute.disabled = !hasMedia;
    ui.camera.disabled = !hasMedia;
    ui.share.disabled = !hasMedia;
    setPressed(ui.mute, micMuted, 'Unmute microphone', 'Mute microphone');
    setPressed(ui.camera, cameraOff, 'Turn camera on', 'Turn camera off');
    setPressed(ui.share, sharing, 'Stop sharing', 'Share screen');
    // Mirror the camera preview only: a mirrored screen would be unreadable.
    ui.local.classList.toggle('screen', sharing);
}

function showStats(s) {
    const st = ui.stats;
    if (!s) {
        for (const el of Object.values(st)) el.textContent = '–';
        return;
    }
    st.conn.textContent = s.connectionState || '–';
    st.local.textContent = s.localCandidateType || '–';
    st.remote.textContent = s.remoteCandidateType || '–';
    st.rtt.textContent = typeof s.rtt === 'number' ? `${Math.round(s.rtt * 1000)} ms` : '–';
    st.send.textContent = typeof s.sendKbps === 'number' ? `${Math.round(s.sendKbps)} kbit/s` : '–';
    st.recv.textContent = typeof s.recvKbps === 'number' ? `${Math.round(s.recvKbps)} kbit/s` : '–';
    st.res.textContent = s.frameWidth ? `${s.frameWidth}×${s.frameHeight}` : '–';
}

function playRemote() {
    ui.remote.play().catch(() => {
        // Autoplay with sound needs a user gesture in some browsers: ask for one instead of staying silent.
        notice('Connected. Click the video of the other person to start playback.', 'info');
    });
}

function setRemote(stream) {
    ui.remote.srcObject = stream;
    ui.remoteEmpty.hidden = !!stream;
    if (stream) playRemote();
}

async function copyLink() {
    const url = new URL('/room.html', location.origin);
    url.searchParams.set('room', room);
    const text = url.toString();
    try {
        await navigator.clipboard.writeText(text);
        notice(`Link copied: ${text}`, 'info');
    } catch (e) {
        // The clipboard API needs a permission some browsers refuse; show the link so it can be copied by hand.
        notice(`Copy this link: ${text}`, 'info');
    }
}

function start() {
    ui.state.textContent = 'init';
    if (!validRoom(room)) {
        ui.roomName.textContent = '(none)';
        ui.join.disabled = true;
        ui.copy.disabled = true;
        notice('This link has no valid room name (1–64 letters, digits, - or _). Go back to the start page to pick one.', 'error');
        return;
    }
    ui.roomName.textContent = room;
    document.title = `duet — ${room}`;
    ui.relayNote.hidden = !relay;

    const signaling = new Signaling();
    const call = new Call(signaling, room, { relay });
    // Remembered per tab, so a reload mid-call takes the user straight back into the room.
    const inCallKey = `duet:in-call:${room}`;
    call.onstate = (state) => {
        ui.state.textContent = state;
        if (state === 'leaved' || state === 'init') sessionStorage.removeItem(inCallKey);
        else sessionStorage.setItem(inCallKey, '1');
    };
    call.onnotice = notice;
    call.onlocalstream = (stream) => { ui.local.srcObject = stream; };
    call.onremotestream = setRemote;
    call.onmedia = showMedia;
    call.onstats = showStats;

    ui.join.addEventListener('click', () => call.join());
    ui.leave.addEventListener('click', () => call.leave());
    ui.mute.addEventListener('click', () => call.setMicMuted(!call.micMuted));
    ui.camera.addEventListener('click', () => call.setCameraOff(!call.cameraOff));
    ui.share.addEventListener('click', () => (call.screenTrack ? call.stopShare() : call.startShare()));
    ui.copy.addEventListener('click', copyLink);
    ui.remote.addEventListener('click', playRemote);

    // Read-only hooks for end-to-end tests and debugging.
    window.duet = Object.freeze({
        pc: () => call.pc,
        state: () => call.state,
        localStream: () => call.localStream,
        remoteStream: () => call.remoteStream,
        socketId: () => signaling.id,
        connected: () => signaling.connected,
    });

    showMedia({ active: false, hasMedia: false, micMuted: false, cameraOff: false, sharing: false });
    showStats(null);
    notice('Connecting to the server…', '');
    signaling.connect();
    if (sessionStorage.getItem(inCallKey)) call.join();
}

start();
