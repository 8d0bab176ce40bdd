// Gifts: the tray a viewer sends them from (the catalogue with prices, the wallet's balance),
// every gift of the room floating up the stage with its sender and combo count, and for the host
// what the live has earned and who gave most.

import { useCallback, useEffect, useState, type Dispatch } from 'react';
import { ApiError, describe, type Api } from '../lib/api';
import type { RoomAction, RoomState } from '../lib/roomState';
import type { Gift, Gifter, Wallet } from '../lib/types';

export function Gifts({ api, state, dispatch }: { api: Api; state: RoomState; dispatch: Dispatch<RoomAction> }) {
  const [open, setOpen] = useState(false);
  const [catalogue, setCatalogue] = useState<Gift[]>([]);
  const [wallet, setWallet] = useState<Wallet | null>(null);
  const [topGifters, setTopGifters] = useState<Gifter[]>(state.session.top_gifters ?? []);
  const [error, setError] = useState<string | null>(null);
  const sessionId = state.session.id;
  const hosting = state.role === 'host';
  const revenue = (state.session.gift_revenue ?? 0) + (state.session.tip_revenue ?? 0);

  const refresh = useCallback(async () => {
    try {
      const [mine, detail] = await Promise.all([api.wallet(), api.session(sessionId)]);
      setWallet(mine);
      setTopGifters(detail.top_gifters ?? []);
    } catch (e) {
      setError(describe(e));
    }
  }, [api, sessionId]);

  useEffect(() => {
    api.gifts().then(setCatalogue, (e: unknown) => setError(describe(e)));
  }, [api]);
  // Whenever the room's revenue moves (anyone's gift), the wallet and the ranking are read again.
  useEffect(() => {
    void refresh();
  }, [refresh, revenue]);

  const send = async (gift: Gift) => {
    setError(null);
    try {
      await api.sendGift(sessionId, gift.id);
      setWallet(await api.wallet());
    } catch (e) {
      if (e instanceof ApiError && e.problem.code === 'insufficient-coins') {
        setError(`Not enough coins: ${gift.name} costs ${gift.price}, your wallet holds ${e.problem.balance ?? 0}.`);
      } else {
        setError(describe(e));
      }
    }
  };

  return (
    <>
      <div className="gift-floaters" aria-live="polite">
        {state.gifts.map((g) => (
          <div
            key={g.key}
            className="gift-floater"
            data-testid="floating-gift"
            data-gift={g.giftId}
            onAnimationEnd={() => dispatch({ type: 'giftFloated', key: g.key })}
          >
            <span className="gift-emoji">{g.emoji}</span> {g.sender}
            {g.count > 1 && <strong> ×{g.count}</strong>}
          </div>
        ))}
      </div>
      <section className="gifts" aria-label="Gifts">
        {hosting ? (
          <div className="earnings" data-testid="host-earnings">
            <span>
              Earned: <strong>{wallet?.earnings ?? 0}</strong> coins · this live: {revenue} coins
            </span>
          </div>
        ) : (
          state.session.enable_gifts && (
            <div className="row">
              <button type="button" onClick={() => setOpen(!open)} aria-expanded={open}>
                🎁 Gifts
              </button>
              <span className="muted" data-testid="wallet-balance">
                {wallet ? `${wallet.balance} coins` : '…'}
              </span>
            </div>
          )
        )}
        {open && !hosting && (
          <div className="gift-tray" role="group" aria-label="Gift tray">
            {catalogue.map((g) => (
              <button key={g.id} type="button" onClick={() => void send(g)} aria-label={`Send ${g.name} (${g.price} coins)`}>
                <span className="gift-emoji">{g.emoji}</span>
                <span>{g.name}</span>
                <span className="muted">{g.price}</span>
              </button>
            ))}
          </div>
        )}
        {topGifters.length > 0 && (
          <ol className="top-gifters" aria-label="Top gifters" data-testid="top-gifters">
            {topGifters.slice(0, 3).map((g) => (
              <li key={g.user_id}>
                {g.username} <span className="muted">{g.coins}</span>
              </li>
            ))}
          </ol>
        )}
        {error && (
          <p className="alert small" role="alert">
            {error}
          </p>
        )}
      </section>
    </>
  );
}
