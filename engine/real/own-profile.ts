import type wwebjs from 'whatsapp-web.js';
import type { ProfilePicture } from '../types.js';

type Client = InstanceType<typeof wwebjs.Client>;

/** The largest picture kept: WhatsApp's full-size profile pictures are well below it. */
const MAX_PICTURE_BYTES = 1024 * 1024;
const PICTURE_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

/** The account's own `@lid` id as WhatsApp Web keeps it, when it has one. */
export async function ownLid(client: Client): Promise<string | null> {
  const lid = await client.pupPage?.evaluate(() => {
    const me = (
      globalThis as unknown as {
        require?: (name: string) => { getMaybeMeLidUser?: () => { server?: string; _serialized?: string } | null };
      }
    ).require?.('WAWebUserPrefsMeUser');
    const user = me?.getMaybeMeLidUser?.();
    return user?.server === 'lid' ? (user._serialized ?? null) : null;
  });
  return typeof lid === 'string' ? lid : null;
}

/**
 * The account's own profile picture, fetched inside the session's page: the picture's address points into WhatsApp's
 * CDN, and only the page (never a backend) goes there. Null when the account has none, hides it, or the answer is not
 * a picture of a kept type and size.
 */
export async function ownProfilePicture(client: Client): Promise<ProfilePicture | null> {
  const wid = (client.info?.wid as { _serialized?: string } | undefined)?._serialized;
  if (!wid || !client.pupPage) return null;
  const url = await client.getProfilePicUrl(wid).catch(() => undefined);
  if (!url) return null;
  const fetched = await client.pupPage.evaluate(
    async (pictureUrl: string, maxBytes: number) => {
      const response = await fetch(pictureUrl, { credentials: 'omit' });
      if (!response.ok) return null;
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (bytes.length === 0 || bytes.length > maxBytes) return null;
      let binary = '';
      for (const byte of bytes) binary += String.fromCharCode(byte);
      return {
        contentType: (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '',
        base64: btoa(binary),
      };
    },
    url,
    MAX_PICTURE_BYTES,
  );
  if (!fetched) return null;
  const contentType = PICTURE_TYPES.find((type) => type === fetched.contentType);
  return contentType ? { contentType, bytes: Buffer.from(fetched.base64, 'base64') } : null;
}
