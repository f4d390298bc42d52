/** A WhatsApp Web build name, as the page's Debug.VERSION and the builds' archives spell it. */
export const WEB_VERSION_PATTERN = '^[0-9][0-9A-Za-z.-]{0,63}$';
