import { bytesOf, type BytesReply } from './bytes-thread';

class Refused extends Error {}
const expected = (message: string) => new Refused(message);

describe('bytesOf: a bytes thread\'s reply in the calling thread', () => {
  it('gives the bytes as a Buffer over the same memory', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const buffer = bytesOf({ id: 1, bytes }, 'render', expected);
    expect([...buffer]).toEqual([1, 2, 3]);
    expect(buffer.buffer).toBe(bytes.buffer);
  });

  it.each<[string, BytesReply, (error: unknown) => boolean, string]>([
    ['the work\'s own refusal is thrown as the caller makes it', { id: 1, error: { message: 'no frame 3', expected: true } }, (error) => error instanceof Refused, 'no frame 3'],
    ['any other error is a plain Error', { id: 1, error: { message: 'out of memory', expected: false } }, (error) => !(error instanceof Refused), 'out of memory'],
    ['an answer without bytes is an error, never empty bytes', { id: 1 }, (error) => !(error instanceof Refused), 'the render thread answered without its bytes'],
  ])('%s', (_case, reply, kind, message) => {
    let thrown: unknown;
    try {
      bytesOf(reply, 'render', expected);
    } catch (error) {
      thrown = error;
    }
    expect(kind(thrown)).toBe(true);
    expect((thrown as Error).message).toBe(message);
  });
});
