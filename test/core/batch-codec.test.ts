// The columnar form a batch crosses to the writer thread in must give back every column the
// store writes, exactly: nulls, empty strings, non-ASCII text, bodies that are not a suffix.
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../../src/pipeline/event.js';
import { decodeBatch, encodeBatch, fieldsJson } from '../../src/store/batch-codec.js';
import type { WriteBatch } from '../../src/store/types.js';

const event = (over: Partial<CanonicalEvent>): CanonicalEvent => ({
  tenantId: 't', connector: 'c', sourceType: 'file', ts: 1_700_000_000_123, timestamp: '', receivedAt: 1_700_000_000_456,
  messageRaw: 'Dec  3 10:00:00 h1 app: x', message: 'x', messageNormalized: 'x', signatureKey: 'k', ingestMetadata: {},
  ...over,
});

describe('batch codec', () => {
  it('round-trips every stored column', () => {
    const events = [
      event({ host: 'h1', service: 'sshd', severity: 'err', sourcePath: '/var/log/auth.log',
        messageRaw: 'Dec  3 10:00:00 h1 sshd[7]: Accepted publickey for root', message: 'Accepted publickey for root',
        structuredFields: { pid: '7' } }),
      // a body that is not a suffix of the raw text, empty strings, non-ASCII and astral characters
      event({ host: '', messageRaw: '{"msg":"ü 🚀"}', message: 'ü 🚀', messageNormalized: 'ü 🚀', parseError: 'bad ts',
        metadata: { alert_state: 'active' }, correlationKeys: { device: 'r1' } }),
      event({ facility: 'daemon', assetId: 'a-1', message: 'tunnel vpn-3 is down', messageRaw: 'tunnel vpn-3 is down', signatureKey: 'k2' }),
    ];
    const batch: WriteBatch = { events, signatures: [], checkpoints: [{ connector: 'c', checkpoint: { offset: 5 } }], counts: [] };
    const back = decodeBatch(structuredClone(encodeBatch(batch)));
    expect(back.checkpoints).toEqual(batch.checkpoints);
    expect(back.events).toHaveLength(3);
    back.events.forEach((got, i) => {
      const want = events[i]!;
      for (const k of ['tenantId', 'connector', 'sourceType', 'host', 'service', 'severity', 'facility', 'assetId',
        'sourcePath', 'messageRaw', 'message', 'messageNormalized', 'signatureKey', 'parseError', 'ts', 'receivedAt'] as const) {
        expect(got[k], `${k} of event ${i}`).toEqual(want[k]);
      }
      expect(got.fieldsJson).toBe(fieldsJson(want));
    });
    // the state change is detected on the encoding side and carried over
    expect(back.events[2]!.stateChange).toMatchObject({ polarity: 1 });
    expect(back.events[0]!.stateChange).toBeNull();
  });
});
