// whatsapp-web.js pulls puppeteer, whose install would download Chrome (and fails offline): the hub
// drives the system's Chromium instead (channel option executablePath, default /usr/bin/chromium).
module.exports = { skipDownload: true };
