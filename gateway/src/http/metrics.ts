// GatewayMetrics: the Prometheus metrics (prom-client) — sessions, viewers, bytes, drops, reconnects.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeviceManager } from '../runtime/device-manager.js';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly bytesFromDevice = new Counter({ name: 'ttygate_device_bytes_received_total', help: 'Bytes read from each device', labelNames: ['device'], registers: [this.registry] });
  readonly bytesToDevice = new Counter({ name: 'ttygate_device_bytes_sent_total', help: 'Bytes written to each device', labelNames: ['device'], registers: [this.registry] });
  readonly viewerDrops = new Counter({ name: 'ttygate_viewer_drops_total', help: 'Viewers dropped for falling too far behind', labelNames: ['device'], registers: [this.registry] });
  readonly reconnects = new Counter({ name: 'ttygate_device_reconnects_total', help: 'Times a device line came back after a disconnect', labelNames: ['device'], registers: [this.registry] });
  readonly disconnects = new Counter({ name: 'ttygate_device_disconnects_total', help: 'Times a device line went away', labelNames: ['device'], registers: [this.registry] });

  constructor(devices: () => DeviceManager | undefined) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ttygate_' });
    // Gauges are computed at scrape time from the brokers, so they can never drift.
    new Gauge({
      name: 'ttygate_sessions',
      help: 'Attached console sessions by device and mode',
      labelNames: ['device', 'mode'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of devices()?.all() ?? []) {
          const counts = { read: 0, write: 0 };
          for (const s of r.broker.sessions()) counts[s.mode]++;
          this.set({ device: r.spec.id, mode: 'read' }, counts.read);
          this.set({ device: r.spec.id, mode: 'write' }, counts.write);
        }
      },
    });
    new Gauge({
      name: 'ttygate_device_up',
      help: '1 while the device line is open',
      labelNames: ['device'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of devices()?.all() ?? []) this.set({ device: r.spec.id }, r.state === 'connected' ? 1 : 0);
      },
    });
  }
}
