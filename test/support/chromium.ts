/** Debian's Chromium, as the browser tests launch it: headless, and quiet about the network. */
export const CHROMIUM = '/usr/bin/chromium';

/** No sandbox (tests run as root), no GPU, and none of the background calls Chromium makes on its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
