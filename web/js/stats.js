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
    };
    /** @type {any} */
    let pair = null;
    report.forEach((/** @type {any} */ s) => {
        if (s.timestamp > out.timestamp) out.timestamp = s.timestamp;
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
        if (s.type === 'outbound-rtp') out.bytesSent += s.bytesSent || 0;
        if (s.type === 'inbound-rtp') {
            out.bytesReceived += s.bytesReceived || 0;
            if (s.kind === 'video' && s.frameWidth) {
                out.frameWidth = s.frameWidth;
                out.frameHeight = s.frameHeight;
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
