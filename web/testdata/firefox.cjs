// Drives one headless Firefox for a Go test (web/firefox_test.go): puppeteer-core over WebDriver
// BiDi, with the browser Debian installs (no download). Usage: node firefox.cjs FIREFOX_PATH
//
// One page; commands arrive as one JSON object a line on stdin, each answered by one line on stdout:
//   {"open": URL}    load URL                        → {"ok": true}
//   {"click": ID}    click #ID once it is enabled    → {"ok": true}
//   {"eval": EXPR}   EXPR in the page, awaited       → {"ok": true, "value": JSON of its value}
// A failure answers {"error": TEXT}. Closing stdin closes the browser.
'use strict';
const puppeteer = require('puppeteer-core');
const readline = require('node:readline');

const prefs = {
    // Fake camera and microphone, no permission prompt.
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
    // The tests' duet and TURN relay listen on loopback, which Firefox leaves out of ICE by default.
    'media.peerconnection.ice.loopback': true,
};

async function main() {
    const browser = await puppeteer.launch({
        browser: 'firefox',
        executablePath: process.argv[2],
        headless: true,
        acceptInsecureCerts: true, // duet's self-signed certificate
        extraPrefsFirefox: prefs,
    });
    const page = (await browser.pages())[0] || (await browser.newPage());
    const ops = {
        open: async (url) => { await page.goto(url); },
        click: async (id) => { await page.locator('#' + id).click(); },
        eval: async (expr) => page.evaluate(`(async () => JSON.stringify(await (${expr})))()`),
    };
    const lines = readline.createInterface({ input: process.stdin });
    for await (const line of lines) {
        let answer;
        try {
            const cmd = JSON.parse(line);
            const [op] = Object.keys(cmd);
            if (!ops[op]) throw new Error(`unknown command ${line}`);
            const value = await ops[op](cmd[op]);
            answer = value === undefined ? { ok: true } : { ok: true, value };
        } catch (e) {
            answer = { error: String((e && e.stack) || e) };
        }
        process.stdout.write(JSON.stringify(answer) + '\n');
    }
    await browser.close();
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
