import { describe, expect, it } from 'vitest';
import type { CollectorStatus } from '../../query/status-routes.js';
import { assessRetention } from './doctor-assess.js';

const storage = (over: Partial<CollectorStatus['storage']>): CollectorStatus => ({
  ready: true,
  storage: { dataDirFreeBytes: 1, dataDirTotalBytes: 2, retentionDays: 7, dropsRetentionDays: 30, ...over },
  queues: [],
  senders: { windowMinutes: 5, clocks: [] },
});

describe('doctor: retention', () => {
  it('reports the default alone, as an older collector answers', () => {
    expect(assessRetention(storage({})).detail).toBe('spans are kept 7 days (storage.retention_days; older spans are refused), the drop ledger 30 days');
  });

  it('lists the retention rules in order and the disk budget', () => {
    const result = assessRetention(
      storage({
        retentionRules: [
          { name: 'errors', match: 'status=error', days: 30 },
          { name: 'x-methods', match: 'service=x, method spans', days: 2 },
        ],
        maxDiskGb: 50,
      }),
    );
    expect(result).toEqual({
      status: 'OK',
      check: 'retention',
      detail:
        'spans are kept 7 days (storage.retention_days; older spans are refused); first matching rule instead: errors (status=error) 30 days, x-methods (service=x, method spans) 2 days, the drop ledger 30 days; disk budget 50 GB for spans (oldest days dropped beyond it)',
    });
  });
});
