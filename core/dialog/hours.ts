import type { HubConfig } from '../config/schema';
import type { Language } from './language';

type Hours = NonNullable<HubConfig['dialog']['hours']>;

const DAY_NAMES = {
  en: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'],
  zh: ['周日', '周一', '周二', '周三', '周四', '周五', '周六'],
};

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/** Whether agents are at work at `now`, in the customers' time zone. No hours configured: always. */
export function agentsAtWork(now: Date, hours: Hours | undefined, offsetMinutes: number): boolean {
  if (!hours) return true;
  const local = new Date(now.getTime() + offsetMinutes * 60_000);
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  return (
    hours.days.includes(local.getUTCDay()) &&
    minute >= minutesOf(hours.open) &&
    minute < minutesOf(hours.close)
  );
}

/** "Mon–Fri 09:00–18:00 (UTC+8)" in the customer's language. */
export function describeHours(hours: Hours, offsetMinutes: number, language: Language): string {
  const days = [...hours.days].sort((a, b) => a - b);
  const names = DAY_NAMES[language];
  const contiguous = days.every((d, i) => i === 0 || d === (days[i - 1] ?? 0) + 1);
  const dayText =
    contiguous && days.length > 2
      ? `${names[days[0] ?? 0]}–${names[days.at(-1) ?? 0]}`
      : days.map((d) => names[d]).join(language === 'zh' ? '、' : ', ');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const zone = `UTC${sign}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`;
  return `${dayText} ${hours.open}–${hours.close} (${zone})`;
}
