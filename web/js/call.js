// The call: media capture, the RTCPeerConnection and the signaling state machine; it talks to the page only through callbacks.

import { summarizeStats } from './stats.js';

// Signaling states, shown verbatim in #state.
export const STATES = Object.freeze(['init', 'joined', 'joined_conn', 'joined_unbind', 'leaved']);

const MEDIA_CONSTRAINTS = {
    video: { width: { ideal: 640 }, height: { ideal: 480 } },
    audio: { echoCancellation: true, noiseSuppression: true },
};

// How long a 'disconnected' connection may linger before the offerer restarts ICE.
const DISCONNECTED_GRACE_MS = 5000;
// Minimum spacing of ICE restarts so a flapping link does not flood the peer with offers.
const RESTART_SPACING_MS = 3000;
// Fraction of the TURN credential lifetime after which they are fetched again.
const ICE_REFRESH_FRACTION = 0.8;

export class Call {
    constructor(signaling, room, { relay = false } = {}) {
        this.sig = signaling;
        this.room = room;
        this.relay = relay;
        this.state = 'init';
        this.pc = null;
        this.localStream = null;
        this.remoteStream = null;
        this.cameraTrack = null;
        this.screenTrack = null;
        this.videoSender = null;
        this.offerer = false;
        this.micMuted = false;
        this.cameraOff = false;
        // True from the join click until leave, a full room or a refused join; drives automatic re-joins.
        this.active = false;
        // True once media and ICE servers are ready, so a (re)connect knows it may emit join itself.
        this.readyToJoin = false;
        this.ice = null;
        this.iceTimer = 0;
        this.pendingCandidates = [];
        this.disconnectTimer = 0;
        this.lastRestart = 0;
        this.statsTimer = 0;
        this.lastBytes = null;
        // One queue for every signaling event, so an answer never overtakes the offer it answers.
        this.queue = Promise.resolve();

        // Callbacks for the page; all optional.
        this.onstate = null;         // (state)
        this.onnotice = null;        // (text, kind: 'info' | 'error' | '')
        this.onlocalstream = null;   // (MediaStream | null): what the local preview should show
        this.onremotestream = null;  // (MediaStream | null)
        this.onmedia = null;         // ({active, hasMedia, micMuted, cameraOff, sharing})
        this.onstats = null;         // (stats object | null)

        this.#wireSignaling();
    }

    // Asks for camera and microphone, then joins the room.
    async join() {
        if (this.active) return;
        this.active = true;
        this.#media();
        if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
            this.#fail('This browser cannot use a camera here (the page needs HTTPS and a recent browser).');
            return;
        }
        this.#notice('Asking for your camera and microphone…', 'info');
        let stream;
        try {
            stream = await navigator.mediaDevices.getUserMedia(MEDIA_CONSTRAINTS);
        } catch (e) {
            this.#fail(mediaErrorText(e));
            return;
        }
        if (!this.active) {
            // Left (or was refused) while the permission prompt was open.
            stream.getTracks().forEach((t) => t.stop());
            return;
        }
        this.localStream = stream;
        this.cameraTrack = stream.getVideoTracks()[0] || null;
        this.#applyTrackSwitches();
        this.#emitLocal();
        this.#media();
        try {
            await this.#iceConfig(true);
        } catch (e) {
            this.#notice('Could not get relay servers from duet; a direct connection will still be tried.', 'error');
        }
        if (!this.active) return;
        this.#startStats();
        this.readyToJoin = true;
        if (this.sig.connected) {
            this.sig.join(this.room);
            this.#notice(`Joining room ${this.room}…`, 'info');
        } else {
            this.sig.reconnect();
            this.#notice('Waiting for the server; you will join the room as soon as it answers.', 'info');
        }
    }

    // Hangs up: releases the camera, closes the connection and tells the server.
    leave() {
        if (!this.active && !this.localStream) return;
        const joinSent = this.readyToJoin;
        this.#endCall('leaved');
        // Only a page that asked to join has anything to leave on the server.
        if (joinSent) this.sig.leave(this.room);
        this.#notice('You left the call.', 'info');
    }

    setMicMuted(muted) {
        this.micMuted = !!muted;
        this.#applyTrackSwitches();
        this.#media();
    }

    setCameraOff(off) {
        this.cameraOff = !!off;
        this.#applyTrackSwitches();
        this.#media();
    }

    // Sends the screen instead of the camera until the share ends (from the page or the browser's own stop button).
    async startShare() {
        if (!this.localStream || this.screenTrack) return;
        if (!navigator.mediaDevices.getDisplayMedia) {
            this.#notice('This browser cannot share the screen.', 'error');
            return;
        }
        let display;
        try {
            display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
        } catch (e) {
            const cancelled = e && e.name === 'NotAllowedError';
            this.#notice(cancelled ? 'Screen sharing was cancelled.' : `Screen sharing failed: ${e && e.message}`, cancelled ? 'info' : 'error');
            return;
        }
        const track = display.getVideoTracks()[0];
        if (!this.localStream || !track) {
            // Hung up while the picker was open.
            display.getTracks().forEach((t) => t.stop());
            return;
        }
        // Text on screens needs sharpness more than frame rate.
        track.contentHint = 'detail';
        this.screenTrack = track;
        track.addEventListener('ended', () => this.stopShare());
        await this.#sendVideo(track);
        this.#emitLocal();
        this.#media();
        this.#notice('You are sharing your screen.', 'info');
    }

    async stopShare() {
        const track = this.screenTrack;
        if (!track) return;
        this.screenTrack = null;
        track.stop();
        await this.#sendVideo(this.cameraTrack);
        this.#emitLocal();
        this.#media();
        if (this.active) this.#notice('Screen sharing stopped; your camera is back.', 'info');
    }

    // ---- signaling events ----

    #wireSignaling() {
        const sig = this.sig;
        const mine = (fn) => (room, ...rest) => {
            if (room !== this.room) return;
            this.#enqueue(() => fn(...rest));
        };
        sig.onconnect = (firstTime) => this.#enqueue(() => this.#connected(firstTime));
        sig.ondisconnect = (reason) => {
            if (!this.active) return;
            if (reason === 'io server disconnect') {
                // The server closed us on purpose and socket.io will not retry: end the call and let the user rejoin.
                this.#enqueue(() => this.#kicked());
                return;
            }
            this.#notice('Lost the connection to the server; reconnecting…', 'error');
        };
        sig.onconnect_error = (err) => {
            console.warn('duet: signaling connect error', err);
            this.#notice('Cannot reach the duet server; retrying…', 'error');
        };
        sig.onjoined = mine((socketId, resumed) => this.#joined(resumed));
        sig.onother_joined = mine(() => this.#otherJoined());
        sig.onfull = mine(() => this.#full());
        sig.onleaved = mine(() => {
            if (!this.active) this.#setState('leaved');
        });
        sig.onbye = mine(() => this.#bye());
        sig.onmessage = mine((data) => this.#message(data));
        sig.onerror = (err) => this.#enqueue(() => this.#serverError(err));
    }

    #enqueue(task) {
        this.queue = this.queue.then(task).catch((e) => {
            console.error('duet: signaling step failed', e);
            this.#notice(`Something went wrong with the call: ${e && e.message ? e.message : e}`, 'error');
        });
        return this.queue;
    }

    #connected(firstTime) {
        if (!this.active) {
            if (firstTime) this.#notice('Connected to the server. Press Join to start.', '');
            return;
        }
        if (!this.readyToJoin) {
            // Still waiting for the camera; join() will emit the join itself.
            this.#notice('Connected to the server.', 'info');
            return;
        }
        if (!firstTime) this.#notice('Back online; rejoining the room…', 'info');
        // Holding our seat's key, the join takes the seat back and the call goes on (#joined); without
        // it a new socket is a new member for the server: drop the old call and join again.
        if (!this.sig.seat || this.sig.seat.room !== this.room) this.#resetPeer();
        this.sig.join(this.room);
    }

    async #joined(resumed) {
        if (!this.active) return;
        if (resumed && this.pc) {
            // Our own seat, back on a new socket after a network change: the same call on a new path.
            this.#notice('Back online; reconnecting the call…', 'info');
            await this.#resumed();
            return;
        }
        if (resumed && this.state === 'joined') return;
        this.#resetPeer();
        this.#setState('joined');
        this.#notice(`You are in room ${this.room}. Waiting for someone to join — share the link.`, 'info');
    }

    async #otherJoined() {
        if (!this.active) return;
        this.#resetPeer();
        this.#setState('joined_conn');
        this.#notice('Someone joined; connecting…', 'info');
        await this.#createPeer(true);
        await this.#makeOffer(false);
    }

    #full() {
        this.#endCall('leaved');
        this.#notice(`The room is full: room ${this.room} already has two people in a call. Try another room name.`, 'error');
    }

    #kicked() {
        this.#endCall('leaved');
        this.#notice('The server closed the connection. Press Join to try again.', 'error');
    }

    #bye() {
        this.#resetPeer();
        if (!this.active) return;
        this.#setState('joined_unbind');
        this.#notice('The other person left. Waiting for someone to join…', 'info');
    }

    #serverError(err) {
        console.warn('duet: the server refused a request', err);
        // Leftovers of a race (a second join, a candidate sent just after the peer left) change nothing for the user.
        if (err.code === 'already_joined' || (err.code === 'not_in_room' && err.event !== 'join')) return;
        const reason = err.reason || err.code || 'no reason given';
        if (err.event !== 'join') {
            this.#notice(`The server refused a request (${err.event || 'unknown'}): ${reason}`, 'error');
            return;
        }
        // A refused join leaves us outside the room: release the camera rather than pretend.
        this.#notice(`The server did not let you join: ${reason}`, 'error');
        if (this.active) this.#endCall('init');
    }

    async #message(data) {
        if (!this.active || !data || typeof data !== 'object') return;
        switch (data.type) {
        case 'offer': {
            if (!this.pc) {
                await this.#createPeer(false);
                this.#setState('joined_conn');
            }
            const pc = this.pc;
            if (pc.signalingState === 'have-local-offer') {
                // Both sides offered at once (an ICE restart racing a renegotiation): the remote one wins.
                await pc.setLocalDescription({ type: 'rollback' });
            }
            await pc.setRemoteDescription({ type: 'offer', sdp: data.sdp });
            await this.#drainCandidates(pc);
            const answer = await pc.createAnswer();
            if (pc !== this.pc) return;
            await pc.setLocalDescription(answer);
            this.sig.send(this.room, { type: 'answer', sdp: pc.localDescription.sdp });
            break;
        }
        case 'restart-ice':
            // The answerer lost its path (or came back on a new one): only the offerer restarts ICE.
            if (this.offerer) this.#restartIce();
            break;
        case 'answer': {
            const pc = this.pc;
            if (!pc || pc.signalingState !== 'have-local-offer') return;
            await pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
            await this.#drainCandidates(pc);
            break;
        }
        case 'candidate': {
            if (!data.candidate) return;
            const init = { candidate: data.candidate, sdpMLineIndex: data.label, sdpMid: data.id };
            const pc = this.pc;
            // The classic race: a candidate that arrives before the description it belongs to would be rejected.
            if (!pc || !pc.remoteDescription) {
                this.pendingCandidates.push(init);
                return;
            }
            await addCandidate(pc, init);
            break;
        }
        default:
            break;
        }
    }

    async #drainCandidates(pc) {
        const pending = this.pendingCandidates;
        this.pendingCandidates = [];
        for (const c of pending) {
            if (pc !== this.pc) return;
            await addCandidate(pc, c);
        }
    }

    // ---- the peer connection ----

    async #createPeer(offerer) {
        let ice = { iceServers: [] };
        try {
            ice = await this.#iceConfig(false);
        } catch (e) {
            this.#notice('Could not get relay servers from duet; trying a direct connection.', 'error');
        }
        const pc = new RTCPeerConnection({
            iceServers: ice.iceServers,
            iceTransportPolicy: this.relay ? 'relay' : 'all',
        });
        this.pc = pc;
        this.offerer = offerer;
        this.lastBytes = null;
        const stream = this.localStream;
        for (const track of stream.getAudioTracks()) pc.addTrack(track, stream);
        const video = this.screenTrack || this.cameraTrack;
        if (video) this.videoSender = pc.addTrack(video, stream);
        pc.onicecandidate = (e) => {
            // End-of-candidates is left out, as the protocol allows.
            if (pc !== this.pc || !e.candidate || !e.candidate.candidate) return;
            this.sig.send(this.room, {
                type: 'candidate',
                label: e.candidate.sdpMLineIndex,
                id: e.candidate.sdpMid,
                candidate: e.candidate.candidate,
            });
        };
        pc.ontrack = (e) => {
            if (pc !== this.pc) return;
            let remote = e.streams[0];
            if (!remote) {
                // A sender without a stream id: collect its tracks in one stream of our own.
                remote = this.remoteStream || new MediaStream();
                remote.addTrack(e.track);
            }
            if (remote !== this.remoteStream) {
                this.remoteStream = remote;
                if (this.onremotestream) this.onremotestream(remote);
            }
        };
        pc.onconnectionstatechange = () => this.#connectionChanged(pc);
        return pc;
    }

    async #makeOffer(iceRestart) {
        const pc = this.pc;
        if (!pc) return;
        const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
        if (pc !== this.pc) return;
        await pc.setLocalDescription(offer);
        this.sig.send(this.room, { type: 'offer', sdp: pc.localDescription.sdp });
    }

    #connectionChanged(pc) {
        if (pc !== this.pc) return;
        clearTimeout(this.disconnectTimer);
        switch (pc.connectionState) {
        case 'connected':
            this.#notice('Connected.', 'info');
            break;
        case 'disconnected':
            this.#notice('The connection is interrupted; waiting for it to come back…', 'error');
            if (this.offerer) {
                this.disconnectTimer = setTimeout(() => {
                    if (pc === this.pc && pc.connectionState === 'disconnected') this.#restartIce();
                }, DISCONNECTED_GRACE_MS);
            }
            break;
        case 'failed':
            if (!this.offerer) this.#notice('The connection failed; asking the other side to restart it…', 'error');
            this.#newPath();
            break;
        default:
            break;
        }
    }

    // #newPath looks for a new path for the call: the offerer restarts ICE, the answerer asks it to
    // over the signaling (the call's own channels may be down with the path).
    #newPath() {
        if (this.offerer) this.#restartIce();
        else this.sig.send(this.room, { type: 'restart-ice' });
    }

    // #resumed carries the call over to our new socket: an offer sent on the dead one never arrived,
    // so it is taken back and made again at once.
    async #resumed() {
        const pc = this.pc;
        if (this.offerer && pc.signalingState === 'have-local-offer') {
            await pc.setLocalDescription({ type: 'rollback' });
            this.lastRestart = 0;
        }
        this.#newPath();
    }

    #restartIce() {
        const pc = this.pc;
        if (!pc || !this.offerer) return;
        const wait = this.lastRestart + RESTART_SPACING_MS - Date.now();
        if (wait > 0) {
            // Too soon after the last attempt: try again once the spacing has passed, if still needed.
            clearTimeout(this.disconnectTimer);
            this.disconnectTimer = setTimeout(() => {
                if (pc === this.pc && ['failed', 'disconnected'].includes(pc.connectionState)) this.#restartIce();
            }, wait);
            return;
        }
        this.lastRestart = Date.now();
        this.#notice('The connection was lost; trying to reconnect (ICE restart)…', 'error');
        this.#enqueue(async () => {
            if (pc !== this.pc) return;
            try {
                const ice = await this.#iceConfig(false);
                pc.setConfiguration({ ...pc.getConfiguration(), iceServers: ice.iceServers });
            } catch (e) {
                // Old servers are better than none; go on with the restart.
            }
            await this.#makeOffer(true);
        });
    }

    #resetPeer() {
        clearTimeout(this.disconnectTimer);
        const pc = this.pc;
        this.pc = null;
        this.videoSender = null;
        this.offerer = false;
        this.pendingCandidates = [];
        this.lastBytes = null;
        if (pc) {
            pc.onicecandidate = null;
            pc.ontrack = null;
            pc.onconnectionstatechange = null;
            pc.close();
        }
        if (this.remoteStream) {
            this.remoteStream = null;
        }
        if (this.onremotestream) this.onremotestream(null);
    }

    // ---- media ----

    #applyTrackSwitches() {
        if (!this.localStream) return;
        for (const t of this.localStream.getAudioTracks()) t.enabled = !this.micMuted;
        if (this.cameraTrack) this.cameraTrack.enabled = !this.cameraOff;
    }

    async #sendVideo(track) {
        if (this.videoSender && this.pc) {
            // replaceTrack swaps what is sent without a new offer/answer round.
            await this.videoSender.replaceTrack(track);
        }
    }

    #releaseMedia() {
        if (this.screenTrack) {
            this.screenTrack.stop();
            this.screenTrack = null;
        }
        if (this.localStream) {
            this.localStream.getTracks().forEach((t) => t.stop());
        }
        this.localStream = null;
        this.cameraTrack = null;
        this.#emitLocal();
        this.#media();
    }

    #emitLocal() {
        if (!this.onlocalstream) return;
        if (this.screenTrack) {
            this.onlocalstream(new MediaStream([this.screenTrack]));
        } else {
            this.onlocalstream(this.localStream);
        }
    }

    #media() {
        if (!this.onmedia) return;
        this.onmedia({
            active: this.active,
            hasMedia: !!this.localStream,
            micMuted: this.micMuted,
            cameraOff: this.cameraOff,
            sharing: !!this.screenTrack,
        });
    }

    // ---- ICE servers ----

    async #iceConfig(force) {
        if (!force && this.ice && Date.now() < this.ice.refreshAt) return this.ice;
        const res = await fetch('/api/ice-servers', { cache: 'no-store', credentials: 'same-origin' });
        if (!res.ok) throw new Error(`ice servers: HTTP ${res.status}`);
        const body = await res.json();
        const ttl = Number(body.ttl) > 0 ? Number(body.ttl) : 3600;
        const refreshIn = Math.min(ttl * 1000 * ICE_REFRESH_FRACTION, 2 ** 31 - 1);
        this.ice = { iceServers: Array.isArray(body.iceServers) ? body.iceServers : [], refreshAt: Date.now() + refreshIn };
        this.#stopIceRefresh();
        this.iceTimer = setTimeout(() => this.#refreshIce(), refreshIn);
        return this.ice;
    }

    // Fresh TURN credentials before the old ones expire, handed to the live connection for its next ICE gathering.
    async #refreshIce() {
        if (!this.active) return;
        try {
            const ice = await this.#iceConfig(true);
            if (this.pc) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: ice.iceServers });
        } catch (e) {
            this.#notice('Could not refresh the relay credentials; will retry.', 'error');
            this.iceTimer = setTimeout(() => this.#refreshIce(), 30000);
        }
    }

    #stopIceRefresh() {
        clearTimeout(this.iceTimer);
        this.iceTimer = 0;
    }

    // ---- stats ----

    #startStats() {
        this.#stopStats();
        this.statsTimer = setInterval(() => this.#collectStats(), 1000);
    }

    #stopStats() {
        clearInterval(this.statsTimer);
        this.statsTimer = 0;
        if (this.onstats) this.onstats(null);
    }

    async #collectStats() {
        const pc = this.pc;
        if (!pc) {
            if (this.onstats) this.onstats({ connectionState: 'none' });
            return;
        }
        const report = await pc.getStats();
        if (pc !== this.pc) return;
        const s = summarizeStats(report);
        s.connectionState = pc.connectionState;
        const prev = this.lastBytes;
        if (prev && s.timestamp > prev.timestamp) {
            const secs = (s.timestamp - prev.timestamp) / 1000;
            s.sendKbps = Math.max(0, ((s.bytesSent - prev.bytesSent) * 8) / 1000 / secs);
            s.recvKbps = Math.max(0, ((s.bytesReceived - prev.bytesReceived) * 8) / 1000 / secs);
        }
        this.lastBytes = { timestamp: s.timestamp, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived };
        if (this.onstats) this.onstats(s);
    }

    // ---- small helpers ----

    #setState(state) {
        this.state = state;
        if (this.onstate) this.onstate(state);
    }

    #notice(text, kind) {
        if (this.onnotice) this.onnotice(text, kind);
    }

    #fail(text) {
        this.#endCall('init');
        this.#notice(text, 'error');
    }

    // Ends the call from our side: no connection, no camera, no automatic re-join.
    #endCall(state) {
        this.active = false;
        this.readyToJoin = false;
        this.#resetPeer();
        this.#releaseMedia();
        this.#stopStats();
        this.#stopIceRefresh();
        this.#setState(state);
    }
}

async function addCandidate(pc, init) {
    try {
        await pc.addIceCandidate(init);
    } catch (e) {
        // A candidate from a previous session or a pruned m-line is harmless; the others keep the call up.
        console.warn('duet: ignored a remote candidate', e);
    }
}

function mediaErrorText(e) {
    switch (e && e.name) {
    case 'NotAllowedError':
    case 'SecurityError':
        return 'Permission to use the camera and microphone was denied. Allow them in the browser and press Join again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
        return 'No camera or microphone was found. Plug one in and press Join again.';
    case 'NotReadableError':
    case 'AbortError':
        return 'The camera or microphone is busy or failed to start (another app may be using it).';
    default:
        return `Could not start the camera and microphone: ${e && e.message ? e.message : e}`;
    }
}
