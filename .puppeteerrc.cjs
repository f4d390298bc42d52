// Chromium comes from the system (CHROMIUM_PATH); puppeteer must never try to download its own.
module.exports = { skipDownload: true };
