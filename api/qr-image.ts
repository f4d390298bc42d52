import QRCode from 'qrcode';

/** How every QR the service draws looks: one size and error correction for the API's images and the pages'. */
const QR_IMAGE = { errorCorrectionLevel: 'M', margin: 2, width: 320 } as const;

export function qrPng(value: string): Promise<Buffer> {
  return QRCode.toBuffer(value, QR_IMAGE);
}

export function qrDataUrl(value: string): Promise<string> {
  return QRCode.toDataURL(value, QR_IMAGE);
}
