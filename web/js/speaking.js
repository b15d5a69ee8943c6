// Whether someone is speaking, from microphone levels: hysteresis and a hold time so the indicator does not flicker.
// Pure: the caller passes the level (0..1) and the time.

export const SPEAKING_ON = 0.06;
export const SPEAKING_OFF = 0.03;
export const SPEAKING_HOLD_MS = 400;

export class SpeakingDetector {
    constructor() {
        this.speaking = false;
        this.quietSince = 0;
    }

    /**
     * @param {number} level  RMS level of the latest samples, 0..1
     * @param {number} now    milliseconds, any monotonic clock
     * @returns {boolean} whether the person counts as speaking now
     */
    update(level, now) {
        if (level >= SPEAKING_ON) {
            this.speaking = true;
            this.quietSince = 0;
        } else if (this.speaking && level < SPEAKING_OFF) {
            if (!this.quietSince) this.quietSince = now;
            if (now - this.quietSince >= SPEAKING_HOLD_MS) {
                this.speaking = false;
                this.quietSince = 0;
            }
        } else if (level >= SPEAKING_OFF) {
            this.quietSince = 0;
        }
        return this.speaking;
    }
}
