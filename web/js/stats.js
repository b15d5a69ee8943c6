// The stats panel's numbers, read from one RTCPeerConnection.getStats() report: no DOM, no state.

/**
 * Pulls the numbers the stats panel shows out of one getStats() report.
 * @param {RTCStatsReport} report
 */
export function summarizeStats(report) {
    const out = {
        timestamp: 0, bytesSent: 0, bytesReceived: 0,
        localCandidateType: '', remoteCandidateType: '', rtt: /** @type {number | null} */ (null),
        path: '',
        frameWidth: 0, frameHeight: 0,
        packetsLost: 0, fps: /** @type {number | null} */ (null), codec: '', relayProtocol: '',
    };
    /** @type {any} */
    let pair = null;
    report.forEach((/** @type {any} */ s) => {
        if (s.timestamp > out.timestamp) out.timestamp = s.timestamp;
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
        if (s.type === 'outbound-rtp') out.bytesSent += s.bytesSent || 0;
        if (s.type === 'inbound-rtp') {
            out.bytesReceived += s.bytesReceived || 0;
            out.packetsLost += Math.max(0, s.packetsLost || 0);
            if (s.kind === 'video' && s.frameWidth) {
                out.frameWidth = s.frameWidth;
                out.frameHeight = s.frameHeight;
            }
            if (s.kind === 'video') {
                if (typeof s.framesPerSecond === 'number') out.fps = s.framesPerSecond;
                const codec = s.codecId && report.get(s.codecId);
                if (codec && codec.mimeType) out.codec = String(codec.mimeType).replace(/^video\//, '');
            }
        }
    });
    if (!pair) {
        // Older browsers name the selected pair only through nomination.
        report.forEach((/** @type {any} */ s) => {
            if (!pair && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
        });
    }
    if (pair) {
        const local = report.get(pair.localCandidateId);
        const remote = report.get(pair.remoteCandidateId);
        out.localCandidateType = local ? local.candidateType : '';
        // How our side reaches the relay (udp, tcp or tls) when it carries the call.
        out.relayProtocol = local && local.candidateType === 'relay' ? String(local.relayProtocol || '') : '';
        out.remoteCandidateType = remote ? remote.candidateType : '';
        out.rtt = typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime : null;
        out.path = pathOf(local, remote);
    }
    return out;
}

/**
 * Which path carries the call, as a catalogue key: direct, through our relay (reached over UDP, TCP
 * or TLS), or through the other side's relay only.
 * @param {any} local the selected pair's local candidate
 * @param {any} remote its remote candidate
 */
export function pathOf(local, remote) {
    if (local && local.candidateType === 'relay') {
        const over = { udp: 'path.relayUdp', tcp: 'path.relayTcp', tls: 'path.relayTls' };
        return over[/** @type {'udp' | 'tcp' | 'tls'} */ (local.relayProtocol)] || 'path.relayUdp';
    }
    if (remote && remote.candidateType === 'relay') return 'path.relayPeer';
    return local ? 'path.direct' : '';
}
