// The call: the RTCPeerConnection, its control channel and the signaling state machine; it talks to the page only
// through callbacks, and names what it tells the user by catalogue keys (the page picks the words).

import { summarizeStats } from './stats.js';
import { transition } from './callstate.js';
import { CONTROL_LABEL, decodeControl, encodeControl } from './control.js';
import { capture, captureTrack, errorKey } from './media.js';
import { REFUSALS } from './access.js';

/** @typedef {import('./callstate.js').CallState} CallState */
/** @typedef {import('./callstate.js').CallEvent} CallEvent */
/** @typedef {import('./control.js').PeerState} PeerState */
/** @typedef {import('./media.js').MediaKind} MediaKind */
/** @typedef {import('./media.js').DeviceChoice} DeviceChoice */
/** @typedef {import('./protocol.js').Signaling} Signaling */
/** @typedef {Record<string, string | number>} Params */
/** @typedef {'info' | 'error' | ''} NoticeKind */
/**
 * @typedef {object} MediaView what the controls show
 * @property {boolean} active
 * @property {boolean} hasAudio
 * @property {boolean} hasVideo
 * @property {boolean} micMuted
 * @property {boolean} cameraOff
 * @property {boolean} sharing
 */
/**
 * @typedef {object} JoinOptions
 * @property {boolean} [micMuted]
 * @property {boolean} [cameraOff]
 * @property {string} [name]
 * @property {DeviceChoice} [devices]
 * @property {string | null} [audioError]  why the stream handed to join has no microphone
 * @property {string | null} [videoError]  why it has no camera
 */

// How long a 'disconnected' connection may linger before the offerer restarts ICE.
const DISCONNECTED_GRACE_MS = 5000;
// Minimum spacing of ICE restarts so a flapping link does not flood the peer with offers.
const RESTART_SPACING_MS = 3000;
// A call without a path for this long looks for a new one (ICE restart), again and again.
const STUCK_MS = 10000;
// A call without a path for this long tells the user what failed, while it keeps trying.
const UNREACHABLE_MS = 20000;
// How often a call without a path is looked at.
const PATH_WATCH_MS = 2500;
// TURN error codes of a relay that answered but would not serve us (RFC 8656): bad or expired
// credentials, forbidden, allocation mismatch, over quota, out of capacity.
const RELAY_REFUSALS = [401, 403, 437, 486, 508];
// Fraction of the TURN credential lifetime after which they are fetched again.
const ICE_REFRESH_FRACTION = 0.8;
// How often, and at most how long each time, a rate-limited ICE server request waits and asks again.
const ICE_RATE_RETRIES = 3;
const ICE_RATE_WAIT_MAX_S = 5;

export class Call {
    /**
     * @param {Signaling} signaling
     * @param {string} room
     * @param {{relay?: boolean}} [opts]
     */
    constructor(signaling, room, { relay = false } = {}) {
        this.sig = signaling;
        this.room = room;
        this.relay = relay;
        /** @type {CallState} */
        this.state = 'init';
        /** @type {RTCPeerConnection | null} */
        this.pc = null;
        /** @type {MediaStream | null} */
        this.localStream = null;
        /** @type {MediaStream | null} */
        this.remoteStream = null;
        /** @type {MediaStreamTrack | null} */
        this.screenTrack = null;
        /** @type {RTCRtpTransceiver | null} */
        this.audioTx = null;
        /** @type {RTCRtpTransceiver | null} */
        this.videoTx = null;
        /** @type {RTCDataChannel | null} */
        this.channel = null;
        /** @type {PeerState | null} what the other person's control channel last said */
        this.peer = null;
        this.lastSent = '';
        this.offerer = false;
        // An offer wanted while one is still unanswered: sent once the answer is in.
        this.offerPending = false;
        this.micMuted = false;
        this.cameraOff = false;
        this.speaking = false;
        this.name = '';
        /** @type {DeviceChoice} */
        this.devices = {};
        // True from the join click until leave, a full room or a refused join; drives automatic re-joins.
        this.active = false;
        // True once media and ICE servers are ready, so a (re)connect knows it may emit join itself.
        this.readyToJoin = false;
        /** @type {object | undefined} join's options (invite token, room password), set by the page */
        this.joinOptions = undefined;
        /** @type {{iceServers: RTCIceServer[], refreshAt: number} | null} */
        this.ice = null;
        this.iceTimer = 0;
        /** @type {RTCIceCandidateInit[]} */
        this.pendingCandidates = [];
        this.disconnectTimer = 0;
        this.lastRestart = 0;
        // The path watch: since when the call has had no path (0: it has one), and what ICE told us.
        this.pathTimer = 0;
        this.noPathSince = 0;
        this.relayRefused = 0;
        this.remoteCandidates = 0;
        this.unreachable = false;
        this.statsTimer = 0;
        /** @type {{timestamp: number, bytesSent: number, bytesReceived: number} | null} */
        this.lastBytes = null;
        this.relayed = false;
        // One queue for every signaling event, so an answer never overtakes the offer it answers.
        /** @type {Promise<void>} */
        this.queue = Promise.resolve();

        // Callbacks for the page; all optional.
        /** @type {((state: CallState) => void) | null} */
        this.onstate = null;
        /** @type {((key: string, params: Params | null, kind: NoticeKind) => void) | null} */
        this.onnotice = null;
        /** @type {((stream: MediaStream | null) => void) | null} what the self view shows */
        this.onlocalstream = null;
        /** @type {((stream: MediaStream | null) => void) | null} called again whenever its tracks change */
        this.onremotestream = null;
        /** @type {((m: MediaView) => void) | null} */
        this.onmedia = null;
        /** @type {((s: object | null) => void) | null} */
        this.onstats = null;
        /** @type {((p: PeerState | null) => void) | null} */
        this.onpeer = null;
        /** @type {(() => void) | null} the connection indicator's inputs changed */
        this.onlink = null;
        /** @type {((arrived: boolean) => void) | null} the other person arrived or left */
        this.onarrival = null;
        /** @type {((pc: RTCPeerConnection) => void) | null} a new connection, before its first offer or answer: for the page's own data channels */
        this.onpeerconnection = null;
        /** @type {((code: string) => void) | null} the server refused to let us in, with this code */
        this.onrefused = null;

        this.#wireSignaling();
    }

    /** @returns {MediaStreamTrack | null} */
    get micTrack() {
        return (this.localStream && this.localStream.getAudioTracks()[0]) || null;
    }

    /** @returns {MediaStreamTrack | null} */
    get cameraTrack() {
        return (this.localStream && this.localStream.getVideoTracks()[0]) || null;
    }

    /**
     * Joins the room with the given stream (the lobby's preview), or captures one first (a reload mid-call).
     * A stream without camera joins audio-only, one without anything joins to receive only.
     * @param {MediaStream | null} [stream]
     * @param {JoinOptions} [opts]
     */
    async join(stream = null, opts = {}) {
        if (this.active) return;
        this.active = true;
        this.micMuted = !!opts.micMuted;
        this.cameraOff = !!opts.cameraOff;
        this.name = opts.name || '';
        this.devices = { ...(opts.devices || {}) };
        this.#media();
        let audioError = opts.audioError || null;
        let videoError = opts.videoError || null;
        if (!stream) {
            this.#notice('notice.asking', null, 'info');
            ({ stream, audioError, videoError } = await capture(this.devices));
        }
        if (!this.active) {
            // Left (or was refused) while the permission prompt was open.
            stream.getTracks().forEach((t) => t.stop());
            return;
        }
        this.localStream = stream;
        for (const t of stream.getTracks()) this.#watch(t);
        this.#applyTrackSwitches();
        this.#emitLocal();
        this.#media();
        // A reason travels as a catalogue key inside the notice's params; the page translates it.
        if (!this.micTrack && !this.cameraTrack) {
            this.#notice('notice.receiveOnly', { reason: videoError || audioError || 'error.other' }, 'info');
        } else if (!this.cameraTrack) {
            this.#notice('notice.audioOnly', { reason: videoError || 'error.other' }, 'info');
        }
        try {
            await this.#iceConfig(true);
        } catch (e) {
            this.#notice('notice.noIce', null, 'error');
        }
        if (!this.active) return;
        this.#startStats();
        this.readyToJoin = true;
        if (this.sig.connected) {
            this.sig.join(this.room, this.joinOptions);
            this.#notice('notice.joining', { room: this.room }, 'info');
        } else {
            this.sig.reconnect();
            this.#notice('notice.waitServer', null, 'info');
        }
    }

    /** Hangs up: releases camera and microphone, closes the connection and tells the server. */
    leave() {
        if (!this.active && !this.localStream) return;
        const joinSent = this.readyToJoin;
        this.#endCall('leave');
        // Only a page that asked to join has anything to leave on the server.
        if (joinSent) this.sig.leave(this.room);
        this.#notice('notice.left', null, 'info');
    }

    /** @param {boolean} muted */
    setMicMuted(muted) {
        this.micMuted = !!muted;
        this.#applyTrackSwitches();
        this.#media();
    }

    /** @param {boolean} off */
    setCameraOff(off) {
        this.cameraOff = !!off;
        this.#applyTrackSwitches();
        this.#media();
    }

    /** @param {string} name */
    setName(name) {
        this.name = name;
        this.#sendState();
    }

    /** @param {boolean} speaking */
    setSpeaking(speaking) {
        if (speaking === this.speaking) return;
        this.speaking = speaking;
        this.#sendState();
    }

    /**
     * Starts sending a microphone or camera the call does not have yet (none at join, or unplugged since):
     * a new track on the existing transceiver, with a new offer/answer round when its direction must change.
     * @param {MediaKind} kind
     */
    async addDevice(kind) {
        if (!this.localStream) return;
        let track;
        try {
            track = await captureTrack(kind, this.devices[kind], false);
        } catch (e) {
            this.#notice('notice.deviceFailed', { reason: errorKey(e) }, 'error');
            return;
        }
        if (!this.localStream) {
            track.stop();
            return;
        }
        if (kind === 'audio') this.micMuted = false;
        else this.cameraOff = false;
        await this.#useTrack(kind, track);
        this.#notice(kind === 'audio' ? 'notice.micAdded' : 'notice.cameraAdded', null, 'info');
    }

    /**
     * Switches to another camera or microphone, in the call without a new offer (replaceTrack).
     * @param {MediaKind} kind
     * @param {string} deviceId
     */
    async useDevice(kind, deviceId) {
        this.devices[kind] = deviceId;
        const current = kind === 'audio' ? this.micTrack : this.cameraTrack;
        if (!this.localStream || !current || current.getSettings().deviceId === deviceId) return;
        let track;
        try {
            track = await captureTrack(kind, deviceId, true);
        } catch (e) {
            this.#notice('notice.deviceFailed', { reason: errorKey(e) }, 'error');
            return;
        }
        if (!this.localStream) {
            track.stop();
            return;
        }
        await this.#useTrack(kind, track);
    }

    // Sends the screen instead of the camera until the share ends (from the page or the browser's own stop button).
    async startShare() {
        if (!this.localStream || this.screenTrack) return;
        if (!navigator.mediaDevices.getDisplayMedia) {
            this.#notice('notice.shareUnsupported', null, 'error');
            return;
        }
        let display;
        try {
            display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
        } catch (e) {
            const cancelled = e instanceof Error && e.name === 'NotAllowedError';
            if (cancelled) this.#notice('notice.shareCancelled', null, 'info');
            else this.#notice('notice.shareFailed', { reason: e instanceof Error ? e.message : String(e) }, 'error');
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
        await this.#sendTrack('video', track);
        this.#emitLocal();
        this.#media();
        this.#notice('notice.sharing', null, 'info');
    }

    async stopShare() {
        const track = this.screenTrack;
        if (!track) return;
        this.screenTrack = null;
        track.stop();
        await this.#sendTrack('video', this.cameraTrack);
        this.#emitLocal();
        this.#media();
        if (this.active) this.#notice('notice.shareStopped', null, 'info');
    }

    // ---- signaling events ----

    #wireSignaling() {
        const sig = this.sig;
        /** @param {(...rest: any[]) => unknown} fn */
        const mine = (fn) => (/** @type {string} */ room, /** @type {any[]} */ ...rest) => {
            if (room !== this.room) return;
            this.#enqueue(() => fn(...rest));
        };
        sig.onconnect = (firstTime) => this.#enqueue(() => this.#connected(firstTime));
        sig.ondisconnect = (reason) => {
            this.#link();
            if (!this.active) return;
            if (reason === 'io server disconnect') {
                // The server closed us on purpose and socket.io will not retry: end the call and let the user rejoin.
                this.#enqueue(() => this.#kicked());
                return;
            }
            this.#notice('notice.serverLost', null, 'error');
        };
        sig.onconnect_error = (err) => {
            console.warn('duet: signaling connect error', err);
            this.#notice('notice.serverUnreachable', null, 'error');
        };
        sig.onjoined = mine((/** @type {string} */ _id, /** @type {boolean} */ resumed) => this.#joined(resumed));
        sig.onother_joined = mine(() => this.#otherJoined());
        sig.onfull = mine(() => this.#full());
        sig.onleaved = mine(() => {
            if (!this.active) this.#setState('leave');
        });
        sig.onbye = mine(() => this.#bye());
        sig.onmessage = mine((data) => this.#message(data));
        sig.onerror = (err) => this.#enqueue(() => this.#serverError(err));
    }

    /** @param {() => unknown} task */
    #enqueue(task) {
        this.queue = this.queue.then(task).then(() => {}, (e) => {
            console.error('duet: signaling step failed', e);
            this.#notice('notice.stepFailed', { reason: e instanceof Error ? e.message : String(e) }, 'error');
        });
        return this.queue;
    }

    /** @param {boolean} firstTime */
    #connected(firstTime) {
        this.#link();
        // Before Join the lobby says what to do; the server matters to the user only once in the room.
        if (!this.active) return;
        if (!this.readyToJoin) {
            // Still waiting for the camera; join() will emit the join itself.
            this.#notice('notice.serverUp', null, 'info');
            return;
        }
        if (!firstTime) this.#notice('notice.backOnline', null, 'info');
        // Holding our seat's key, the join takes the seat back and the call goes on (#joined); without
        // it a new socket is a new member for the server: drop the old call and join again.
        if (!this.sig.seat || this.sig.seat.room !== this.room) this.#resetPeer();
        this.sig.join(this.room, this.joinOptions);
    }

    /** @param {boolean} resumed */
    async #joined(resumed) {
        if (!this.active) return;
        if (resumed && this.pc) {
            // Our own seat, back on a new socket after a network change: the same call on a new path.
            this.#notice('notice.resuming', null, 'info');
            await this.#resumed(this.pc);
            return;
        }
        if (resumed && this.state === 'joined') return;
        this.#resetPeer();
        this.#setState('joined');
        this.#notice('notice.waiting', { room: this.room }, 'info');
    }

    async #otherJoined() {
        if (!this.active) return;
        this.#resetPeer();
        this.#setState('other_joined');
        this.#notice('notice.someoneJoined', null, 'info');
        if (this.onarrival) this.onarrival(true);
        await this.#createPeer(true);
        await this.#makeOffer(false);
    }

    #full() {
        this.#endCall('full');
        this.#notice('notice.full', { room: this.room }, 'error');
    }

    #kicked() {
        this.#endCall('kicked');
        this.#notice('notice.kicked', null, 'error');
    }

    #bye() {
        const hadPeer = this.state === 'joined_conn';
        this.#resetPeer();
        if (!this.active) return;
        this.#setState('bye');
        this.#notice('notice.peerLeft', null, 'info');
        if (hadPeer && this.onarrival) this.onarrival(false);
    }

    /** @param {{event?: string, code?: string, reason?: string}} err */
    #serverError(err) {
        console.warn('duet: the server refused a request', err);
        // Leftovers of a race (a second join, a candidate sent just after the peer left) change nothing for the user.
        if (err.code === 'already_joined' || (err.code === 'not_in_room' && err.event !== 'join')) return;
        const reason = err.reason || err.code || '?';
        if (err.event !== 'join') {
            this.#notice('notice.refused', { event: err.event || '?', reason }, 'error');
            return;
        }
        // A refused join leaves us outside the room: release the camera rather than pretend.
        const explained = REFUSALS[err.code || ''];
        if (explained) this.#notice(explained, { room: this.room }, 'error');
        else this.#notice('notice.joinRefused', { reason }, 'error');
        if (this.active) this.#endCall('fail');
        if (this.onrefused) this.onrefused(err.code || '');
    }

    /** @param {any} data */
    async #message(data) {
        if (!this.active || !data || typeof data !== 'object') return;
        switch (data.type) {
        case 'offer': {
            if (!this.pc) {
                await this.#createPeer(false);
                this.#setState('offer');
                if (this.onarrival) this.onarrival(true);
            }
            const pc = this.pc;
            if (!pc) return;
            if (pc.signalingState === 'have-local-offer') {
                // Both sides offered at once (an ICE restart racing a renegotiation): the remote one wins.
                await pc.setLocalDescription({ type: 'rollback' });
            }
            await pc.setRemoteDescription({ type: 'offer', sdp: data.sdp });
            await this.#bindAnswerer(pc);
            await this.#drainCandidates(pc);
            const answer = await pc.createAnswer();
            if (pc !== this.pc) return;
            await pc.setLocalDescription(answer);
            this.sig.send(this.room, { type: 'answer', sdp: pc.localDescription ? pc.localDescription.sdp : '' });
            break;
        }
        case 'restart-ice':
            // The answerer lost its path (or came back on a new socket): only the offerer restarts ICE.
            if (this.offerer) this.#restartIce();
            break;
        case 'answer': {
            const pc = this.pc;
            if (!pc || pc.signalingState !== 'have-local-offer') return;
            await pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
            await this.#drainCandidates(pc);
            if (this.offerPending) {
                this.offerPending = false;
                await this.#makeOffer(false);
            }
            break;
        }
        case 'candidate': {
            if (!data.candidate) return;
            this.remoteCandidates++;
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

    /** @param {RTCPeerConnection} pc */
    async #drainCandidates(pc) {
        const pending = this.pendingCandidates;
        this.pendingCandidates = [];
        for (const c of pending) {
            if (pc !== this.pc) return;
            await addCandidate(pc, c);
        }
    }

    // ---- the peer connection ----

    /** @param {boolean} offerer */
    async #createPeer(offerer) {
        let ice = { iceServers: /** @type {RTCIceServer[]} */ ([]) };
        try {
            ice = await this.#iceConfig(false);
        } catch (e) {
            this.#notice('notice.noIce', null, 'error');
        }
        const pc = new RTCPeerConnection({
            iceServers: ice.iceServers,
            iceTransportPolicy: this.relay ? 'relay' : 'all',
        });
        this.pc = pc;
        this.offerer = offerer;
        this.lastBytes = null;
        if (this.onpeerconnection) this.onpeerconnection(pc);
        this.relayed = false;
        if (offerer) {
            // Both kinds are always offered, recvonly when there is nothing to send, so the answerer can send
            // what it has and either side can start sending later on the same m-line.
            const stream = /** @type {MediaStream} */ (this.localStream);
            const mic = this.micTrack;
            const video = this.screenTrack || this.cameraTrack;
            this.audioTx = pc.addTransceiver(mic || 'audio', { direction: mic ? 'sendrecv' : 'recvonly', streams: [stream] });
            this.videoTx = pc.addTransceiver(video || 'video', { direction: video ? 'sendrecv' : 'recvonly', streams: [stream] });
            this.#openChannel(pc.createDataChannel(CONTROL_LABEL));
        } else {
            pc.ondatachannel = (e) => {
                if (pc === this.pc && e.channel.label === CONTROL_LABEL) this.#openChannel(e.channel);
            };
        }
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
            this.remoteStream = remote;
            const changed = () => {
                if (pc === this.pc && this.onremotestream) this.onremotestream(this.remoteStream);
            };
            // A sender that stops sending (camera unplugged, replaceTrack(null)) mutes the track here.
            e.track.addEventListener('mute', changed);
            e.track.addEventListener('unmute', changed);
            e.track.addEventListener('ended', changed);
            changed();
        };
        pc.onicecandidateerror = (e) => {
            const code = /** @type {RTCPeerConnectionIceErrorEvent} */ (e).errorCode;
            if (pc === this.pc && RELAY_REFUSALS.includes(code)) this.relayRefused = code;
        };
        pc.onconnectionstatechange = () => this.#connectionChanged(pc);
        this.#watchPath(pc);
        this.#link();
        return pc;
    }

    /**
     * The answerer's side of the transceivers the offer made: what we have is sent, the rest received only.
     * @param {RTCPeerConnection} pc
     */
    async #bindAnswerer(pc) {
        if (this.offerer) return;
        for (const tr of pc.getTransceivers()) {
            if (tr.currentDirection === 'stopped' || tr.mid === null) continue;
            const kind = tr.receiver.track.kind;
            if (kind === 'audio' && !this.audioTx) this.audioTx = tr;
            else if (kind === 'video' && !this.videoTx) this.videoTx = tr;
            else continue;
            const track = kind === 'audio' ? this.micTrack : this.screenTrack || this.cameraTrack;
            await tr.sender.replaceTrack(track);
            if (this.localStream) tr.sender.setStreams(this.localStream);
            tr.direction = track ? 'sendrecv' : 'recvonly';
        }
    }

    /** @param {boolean} iceRestart */
    async #makeOffer(iceRestart) {
        const pc = this.pc;
        if (!pc) return;
        if (!iceRestart && pc.signalingState !== 'stable') {
            this.offerPending = true;
            return;
        }
        const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
        if (pc !== this.pc) return;
        await pc.setLocalDescription(offer);
        this.sig.send(this.room, { type: 'offer', sdp: pc.localDescription ? pc.localDescription.sdp : '' });
    }

    /**
     * Sends track (or nothing) on the kind's transceiver; when that m-line was not sending yet, a new
     * offer/answer round: the offerer makes it, the answerer asks the offerer for it over the control channel.
     * @param {MediaKind} kind
     * @param {MediaStreamTrack | null} track
     */
    async #sendTrack(kind, track) {
        const tr = kind === 'audio' ? this.audioTx : this.videoTx;
        if (!this.pc) return;
        if (!tr) {
            if (track) this.#notice('notice.peerCannotAdd', null, 'error');
            return;
        }
        await tr.sender.replaceTrack(track);
        if (!track) return;
        if (this.localStream) tr.sender.setStreams(this.localStream);
        if (tr.direction !== 'sendrecv') tr.direction = 'sendrecv';
        if (tr.currentDirection === 'sendrecv' || tr.currentDirection === 'sendonly') return;
        if (this.offerer) {
            await this.#enqueue(() => this.#makeOffer(false));
        } else if (this.channel && this.channel.readyState === 'open') {
            this.channel.send(encodeControl({ type: 'renegotiate' }));
        } else {
            this.#notice('notice.peerCannotAdd', null, 'error');
        }
    }

    /** @param {RTCDataChannel} ch */
    #openChannel(ch) {
        this.channel = ch;
        this.lastSent = '';
        ch.onopen = () => {
            if (ch === this.channel) this.#sendState();
        };
        ch.onmessage = (e) => {
            if (ch !== this.channel) return;
            const msg = decodeControl(e.data);
            if (!msg) return;
            if (msg.type === 'renegotiate') {
                // Only the offerer makes offers (docs/protocol.md): the answerer asks for one here.
                if (this.offerer) this.#enqueue(() => this.#makeOffer(false));
                return;
            }
            const { type, ...peer } = msg;
            this.peer = peer;
            if (this.onpeer) this.onpeer(peer);
        };
        ch.onclose = () => {
            if (ch === this.channel) this.channel = null;
        };
    }

    // Tells the other person what they cannot see in the media: name, mute, camera off, sharing, speaking.
    #sendState() {
        const ch = this.channel;
        if (!ch || ch.readyState !== 'open') return;
        const sharing = !!this.screenTrack;
        const text = encodeControl({
            type: 'state',
            name: this.name,
            micOff: this.micMuted || !this.micTrack,
            cameraOff: !sharing && (this.cameraOff || !this.cameraTrack),
            sharing,
            speaking: this.speaking && !this.micMuted,
        });
        if (text === this.lastSent) return;
        this.lastSent = text;
        ch.send(text);
    }

    /** @param {RTCPeerConnection} pc */
    #connectionChanged(pc) {
        if (pc !== this.pc) return;
        clearTimeout(this.disconnectTimer);
        this.#link();
        switch (pc.connectionState) {
        case 'connected':
            this.noPathSince = 0;
            this.unreachable = false;
            this.#notice('notice.connected', null, 'info');
            break;
        case 'disconnected':
            this.#notice('notice.interrupted', null, 'error');
            if (this.offerer) {
                this.disconnectTimer = window.setTimeout(() => {
                    if (pc === this.pc && pc.connectionState === 'disconnected') this.#restartIce();
                }, DISCONNECTED_GRACE_MS);
            }
            break;
        case 'failed':
            if (!this.offerer && !this.unreachable) this.#notice('notice.failedWaiting', null, 'error');
            this.#newPath();
            break;
        default:
            break;
        }
        if (pc.connectionState !== 'connected' && !this.noPathSince) this.noPathSince = Date.now();
    }

    // Looks for a new path for the call: the offerer restarts ICE, the answerer asks it to over the
    // signaling (the call's own channel may be down with the path).
    #newPath() {
        if (this.offerer) this.#restartIce();
        else this.sig.send(this.room, { type: 'restart-ice' });
    }

    // Carries the call over to our new socket: an offer made on the dead one never arrived, so it is
    // taken back and made again at once.
    /** @param {RTCPeerConnection} pc */
    async #resumed(pc) {
        if (this.offerer && pc.signalingState === 'have-local-offer') {
            await pc.setLocalDescription({ type: 'rollback' });
            this.lastRestart = 0;
        }
        this.#newPath();
    }

    // Watches a call that has no path: after STUCK_MS it looks for a new one, again every STUCK_MS,
    // and after UNREACHABLE_MS it says what failed, while it keeps trying.
    /** @param {RTCPeerConnection} pc */
    #watchPath(pc) {
        clearInterval(this.pathTimer);
        this.noPathSince = Date.now();
        this.relayRefused = 0;
        this.remoteCandidates = 0;
        this.unreachable = false;
        this.pathTimer = window.setInterval(() => {
            if (pc !== this.pc) {
                clearInterval(this.pathTimer);
                return;
            }
            if (!this.noPathSince || pc.connectionState === 'connected') return;
            const stuck = Date.now() - this.noPathSince;
            if (stuck >= STUCK_MS && Date.now() - this.lastRestart >= STUCK_MS) this.#newPath();
            if (stuck >= UNREACHABLE_MS && !this.unreachable) {
                this.unreachable = true;
                this.#enqueue(() => this.#sayWhatFailed(pc));
            }
        }, PATH_WATCH_MS);
    }

    // Tells the user why the call has no path, in the one of three ways that fits, with what to try.
    /** @param {RTCPeerConnection} pc */
    async #sayWhatFailed(pc) {
        if (pc !== this.pc) return;
        if (this.relayRefused) {
            this.#notice('notice.failRelayRefused', { code: this.relayRefused }, 'error');
        } else if (this.remoteCandidates === 0) {
            this.#notice('notice.failPeerNetwork', null, 'error');
        } else {
            this.#notice('notice.failNoPath', null, 'error');
        }
    }

    #restartIce() {
        const pc = this.pc;
        if (!pc || !this.offerer) return;
        const wait = this.lastRestart + RESTART_SPACING_MS - Date.now();
        if (wait > 0) {
            // Too soon after the last attempt: try again once the spacing has passed, if still needed.
            clearTimeout(this.disconnectTimer);
            this.disconnectTimer = window.setTimeout(() => {
                if (pc === this.pc && ['failed', 'disconnected'].includes(pc.connectionState)) this.#restartIce();
            }, wait);
            return;
        }
        this.lastRestart = Date.now();
        // Once the user was told what failed, that stays on screen while the retries go on.
        if (!this.unreachable) this.#notice('notice.restarting', null, 'error');
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
        clearInterval(this.pathTimer);
        this.noPathSince = 0;
        this.unreachable = false;
        const pc = this.pc;
        this.pc = null;
        this.audioTx = null;
        this.videoTx = null;
        this.offerer = false;
        this.offerPending = false;
        this.pendingCandidates = [];
        this.lastBytes = null;
        this.relayed = false;
        if (this.channel) {
            this.channel.onmessage = null;
            this.channel.close();
            this.channel = null;
        }
        if (pc) {
            pc.onicecandidate = null;
            pc.ontrack = null;
            pc.ondatachannel = null;
            pc.onconnectionstatechange = null;
            pc.onicecandidateerror = null;
            pc.close();
        }
        this.remoteStream = null;
        if (this.peer) {
            this.peer = null;
            if (this.onpeer) this.onpeer(null);
        }
        if (this.onremotestream) this.onremotestream(null);
        this.#link();
    }

    // ---- media ----

    #applyTrackSwitches() {
        const mic = this.micTrack;
        const cam = this.cameraTrack;
        if (mic) mic.enabled = !this.micMuted;
        if (cam) cam.enabled = !this.cameraOff;
    }

    /**
     * Puts track in the local stream in place of the one of its kind, and sends it.
     * @param {MediaKind} kind
     * @param {MediaStreamTrack} track
     */
    async #useTrack(kind, track) {
        const stream = /** @type {MediaStream} */ (this.localStream);
        const old = kind === 'audio' ? this.micTrack : this.cameraTrack;
        if (old) {
            stream.removeTrack(old);
            old.stop();
        }
        stream.addTrack(track);
        this.#watch(track);
        this.#applyTrackSwitches();
        if (kind === 'audio' || !this.screenTrack) await this.#sendTrack(kind, track);
        this.#emitLocal();
        this.#media();
    }

    /**
     * A camera or microphone that ends by itself (unplugged, taken by the system) is replaced by another one
     * of its kind when there is one; otherwise the call goes on without it.
     * @param {MediaStreamTrack} track
     */
    #watch(track) {
        track.addEventListener('ended', async () => {
            const stream = this.localStream;
            if (!stream || !stream.getTracks().includes(track)) return;
            const kind = /** @type {MediaKind} */ (track.kind);
            const what = kind === 'audio' ? 'kind.mic' : 'kind.camera';
            try {
                const next = await captureTrack(kind, undefined, false);
                if (this.localStream !== stream) {
                    next.stop();
                    return;
                }
                await this.#useTrack(kind, next);
                this.#notice('notice.deviceEnded', { kind: what }, 'info');
            } catch {
                stream.removeTrack(track);
                if (kind === 'audio' || !this.screenTrack) await this.#sendTrack(kind, null);
                this.#emitLocal();
                this.#media();
                this.#notice('notice.deviceLost', { kind: what }, 'error');
            }
        });
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

    // The controls and the other person both learn what we send.
    #media() {
        this.#sendState();
        if (!this.onmedia) return;
        this.onmedia({
            active: this.active,
            hasAudio: !!this.micTrack,
            hasVideo: !!this.cameraTrack,
            micMuted: this.micMuted,
            cameraOff: this.cameraOff,
            sharing: !!this.screenTrack,
        });
    }

    // ---- ICE servers ----

    /** @param {boolean} force */
    async #iceConfig(force) {
        if (!force && this.ice && Date.now() < this.ice.refreshAt) return this.ice;
        let res = await fetch('/api/ice-servers', { cache: 'no-store', credentials: 'same-origin' });
        // A few reloads in a row hit the per-address rate limit: wait as told (briefly) rather than call without TURN.
        for (let retry = 0; res.status === 429 && retry < ICE_RATE_RETRIES; retry++) {
            const wait = Math.min(Number(res.headers.get('Retry-After')) || 1, ICE_RATE_WAIT_MAX_S);
            await new Promise((resolve) => window.setTimeout(resolve, wait * 1000));
            res = await fetch('/api/ice-servers', { cache: 'no-store', credentials: 'same-origin' });
        }
        if (!res.ok) throw new Error(`ice servers: HTTP ${res.status}`);
        const body = await res.json();
        const ttl = Number(body.ttl) > 0 ? Number(body.ttl) : 3600;
        const refreshIn = Math.min(ttl * 1000 * ICE_REFRESH_FRACTION, 2 ** 31 - 1);
        this.ice = { iceServers: Array.isArray(body.iceServers) ? body.iceServers : [], refreshAt: Date.now() + refreshIn };
        this.#stopIceRefresh();
        this.iceTimer = window.setTimeout(() => this.#refreshIce(), refreshIn);
        return this.ice;
    }

    // Fresh TURN credentials before the old ones expire, handed to the live connection for its next ICE gathering.
    async #refreshIce() {
        if (!this.active) return;
        try {
            const ice = await this.#iceConfig(true);
            if (this.pc) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: ice.iceServers });
        } catch (e) {
            this.#notice('notice.iceRefresh', null, 'error');
            this.iceTimer = window.setTimeout(() => this.#refreshIce(), 30000);
        }
    }

    #stopIceRefresh() {
        clearTimeout(this.iceTimer);
        this.iceTimer = 0;
    }

    // ---- stats ----

    #startStats() {
        this.#stopStats();
        this.statsTimer = window.setInterval(() => this.#collectStats(), 1000);
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
        /** @type {ReturnType<typeof summarizeStats> & {connectionState?: string, sendKbps?: number, recvKbps?: number}} */
        const s = summarizeStats(report);
        s.connectionState = pc.connectionState;
        const prev = this.lastBytes;
        if (prev && s.timestamp > prev.timestamp) {
            const secs = (s.timestamp - prev.timestamp) / 1000;
            s.sendKbps = Math.max(0, ((s.bytesSent - prev.bytesSent) * 8) / 1000 / secs);
            s.recvKbps = Math.max(0, ((s.bytesReceived - prev.bytesReceived) * 8) / 1000 / secs);
        }
        this.lastBytes = { timestamp: s.timestamp, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived };
        const relayed = s.localCandidateType === 'relay' || s.remoteCandidateType === 'relay';
        if (relayed !== this.relayed) {
            this.relayed = relayed;
            this.#link();
        }
        if (this.onstats) this.onstats(s);
    }

    // ---- small helpers ----

    /** @param {CallEvent} event */
    #setState(event) {
        const next = transition(this.state, event);
        if (!next) return;
        this.state = next;
        if (this.onstate) this.onstate(next);
        this.#link();
    }

    #link() {
        if (this.onlink) this.onlink();
    }

    /**
     * @param {string} key
     * @param {Params | null} params
     * @param {NoticeKind} kind
     */
    #notice(key, params, kind) {
        if (this.onnotice) this.onnotice(key, params, kind);
    }

    // Ends the call from our side: no connection, no camera, no automatic re-join.
    /** @param {CallEvent} event */
    #endCall(event) {
        this.active = false;
        this.readyToJoin = false;
        this.#resetPeer();
        this.#releaseMedia();
        this.#stopStats();
        this.#stopIceRefresh();
        this.#setState(event);
    }
}

/**
 * @param {RTCPeerConnection} pc
 * @param {RTCIceCandidateInit} init
 */
async function addCandidate(pc, init) {
    try {
        await pc.addIceCandidate(init);
    } catch (e) {
        // A candidate from a previous session or a pruned m-line is harmless; the others keep the call up.
        console.warn('duet: ignored a remote candidate', e);
    }
}
