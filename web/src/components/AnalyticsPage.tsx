// The host's analytics of one session: the figures, and charts of viewers and chat per minute
// and of reactions (Chart.js), as `GET /live/analytics/{session_id}` counts them.

import { useEffect, useRef, useState } from 'react';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { describe, type Api } from '../lib/api';
import { REACTIONS, type Analytics } from '../lib/types';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

interface Props {
  api: Api;
  sessionId: string;
  onBack: () => void;
}

export function AnalyticsPage({ api, sessionId, onBack }: Props) {
  const [figures, setFigures] = useState<Analytics | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.analytics(sessionId).then(setFigures, (e: unknown) => setError(describe(e)));
  }, [api, sessionId]);

  if (error) {
    return (
      <main className="page center">
        <div className="card">
          <p className="alert" role="alert">
            {error}
          </p>
          <button type="button" onClick={onBack}>
            Back
          </button>
        </div>
      </main>
    );
  }
  if (!figures) {
    return (
      <main className="page center" aria-busy="true">
        <p>Counting…</p>
      </main>
    );
  }
  const minutes = figures.viewers_per_minute.map((_, i) => `${i}′`);
  const stats: [string, string][] = [
    ['Peak viewers', String(figures.peak_viewers)],
    ['Unique viewers', String(figures.unique_viewers)],
    ['Average watch', seconds(figures.average_view_seconds)],
    ['Median watch', seconds(figures.median_view_seconds)],
    ['Guests on stage', `${figures.guests_on_stage} (${seconds(figures.stage_seconds)})`],
    ['Asked to join the stage', `${Math.round(figures.guest_request_rate * 100)} %`],
    ['Chat messages', String(figures.chat_messages)],
    ['Gifts', `${figures.gift_revenue} coins`],
    ['Tips', `${figures.tips} coins`],
    ['Tickets', `${figures.tickets} coins`],
    ['Duration', seconds(figures.duration_seconds)],
  ];
  return (
    <main className="page analytics" data-testid="analytics">
      <div className="row">
        <h1>Analytics</h1>
        <button type="button" onClick={onBack}>
          Back
        </button>
      </div>
      <dl className="stats">
        {stats.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <div className="charts">
        <ChartCard
          title="Viewers per minute"
          testId="viewers-chart"
          config={{
            type: 'line',
            data: {
              labels: minutes,
              datasets: [{ label: 'Viewers', data: figures.viewers_per_minute, borderColor: '#e5484d', backgroundColor: 'rgba(229,72,77,0.2)', fill: true }],
            },
          }}
        />
        <ChartCard
          title="Chat per minute"
          testId="chat-chart"
          config={{
            type: 'bar',
            data: { labels: minutes, datasets: [{ label: 'Messages', data: figures.chat_per_minute, backgroundColor: '#3e63dd' }] },
          }}
        />
        <ChartCard
          title="Reactions"
          testId="reactions-chart"
          config={{
            type: 'bar',
            data: {
              labels: REACTIONS.map((r) => `${r.emoji} ${r.label}`),
              datasets: [{ label: 'Reactions', data: REACTIONS.map((r) => figures.reactions[r.type] ?? 0), backgroundColor: '#f76b15' }],
            },
          }}
        />
      </div>
      {figures.top_gifters.length > 0 && (
        <section className="card">
          <h2>Top gifters</h2>
          <ol>
            {figures.top_gifters.map((g) => (
              <li key={g.user_id}>
                {g.username}: {g.coins} coins
              </li>
            ))}
          </ol>
        </section>
      )}
    </main>
  );
}

function seconds(s: number): string {
  const whole = Math.round(s);
  return whole >= 60 ? `${Math.floor(whole / 60)} min ${whole % 60} s` : `${whole} s`;
}

/** One chart, drawn on a canvas once its data is known; its points are in `data-points`. */
function ChartCard({ title, testId, config }: { title: string; testId: string; config: ChartConfiguration<'line' | 'bar'> }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const points = JSON.stringify(config.data.datasets[0]?.data ?? []);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      ...config,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        // Counts: from zero, in whole steps.
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
    return () => chart.destroy();
    // Redrawn when the figures change, not on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [points]);
  return (
    <figure className="card chart">
      <figcaption>{title}</figcaption>
      <div className="chart-box">
        <canvas ref={canvas} data-testid={testId} data-points={points} role="img" aria-label={`${title}: ${points}`} />
      </div>
    </figure>
  );
}
