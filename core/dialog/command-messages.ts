import type { Order, OrderStatus } from '../types';
import type { Language } from './language';

const STATUS: Record<OrderStatus, Record<Language, string>> = {
  pending: { en: 'awaiting payment', zh: '待付款' },
  confirmed: { en: 'confirmed', zh: '已确认' },
  processing: { en: 'being prepared', zh: '备货中' },
  shipped: { en: 'shipped', zh: '已发货' },
  delivered: { en: 'delivered', zh: '已送达' },
  cancelled: { en: 'cancelled', zh: '已取消' },
  returned: { en: 'returned', zh: '已退货' },
};

/** Replies of the order and handoff commands, in each language the bot speaks. */
export const commandText = {
  askProof: (orderId: string) => ({
    en: `To protect your privacy, please tell me the phone number or e-mail address used for order ${orderId}.`,
    zh: `为保护您的隐私，请提供订单 ${orderId} 预留的手机号或电子邮箱。`,
  }),
  proofMismatch: (orderId: string, left: number) => ({
    en: `That does not match an order ${orderId} I can show you. Please check the order number and the phone or e-mail (${left} ${left === 1 ? 'try' : 'tries'} left).`,
    zh: `无法用该信息查看订单 ${orderId}。请核对订单号和手机号/邮箱（还可尝试 ${left} 次）。`,
  }),
  proofLocked: () => ({
    en: 'I cannot verify this order here. Type "human" and an agent will help you.',
    zh: '无法在此验证该订单。输入“人工”即可由人工客服为您处理。',
  }),
  offerCode: () => ({
    en: ' Or type "code" and I will send a one-time code to the e-mail address on the order.',
    zh: ' 也可以输入“验证码”，我们会向订单预留的邮箱发送一次性验证码。',
  }),
  codeSent: (orderId: string) => ({
    en: `If order ${orderId} has an e-mail address I can reach, a 6-digit code is on its way there. Please type it here.`,
    zh: `如果订单 ${orderId} 预留了可用的邮箱，6 位验证码已发送至该邮箱，请在这里输入。`,
  }),
  codeWrong: (left: number) => ({
    en: `That code is not right (${left} ${left === 1 ? 'try' : 'tries'} left).`,
    zh: `验证码不正确（还可尝试 ${left} 次）。`,
  }),
  codeExpired: () => ({
    en: 'That code has expired or was used up. Type "code" for a new one.',
    zh: '验证码已过期或已失效。输入“验证码”可重新获取。',
  }),
  codeUnavailable: () => ({
    en: 'I could not send a code just now. Please try again in a few minutes, or type "human" and an agent will help you.',
    zh: '暂时无法发送验证码，请几分钟后再试，或输入“人工”由人工客服为您处理。',
  }),
  proofWait: (seconds: number) => ({
    en: `Too many attempts to verify this order. Please try again in ${seconds} seconds, type "code" for a one-time code, or type "human" and an agent will help you.`,
    zh: `该订单验证尝试过多，请 ${seconds} 秒后再试，或输入“验证码”获取一次性验证码，或输入“人工”由人工客服为您处理。`,
  }),
  erpDown: () => ({
    en: 'Our order system is not answering right now, so I cannot look the order up. Please try again in a few minutes.',
    zh: '订单系统暂时无法响应，暂时查不到您的订单，请几分钟后再试。',
  }),
  erpDownTicket: (reference: string) => ({
    en: `Our order system is not answering right now. I have passed your question to our team (reference ${reference}); they will get back to you.`,
    zh: `订单系统暂时无法响应。已将您的问题转交客服团队（工单号 ${reference}），他们会尽快回复您。`,
  }),
  handoffCreated: (reference: string) => ({
    en: `I have asked a member of our team to take over (ticket ${reference}). They will reply here.`,
    zh: `已为您转接人工客服（工单号 ${reference}），客服会在这里回复您。`,
  }),
  handoffAlready: (reference: string) => ({
    en: `Your request is with our team already (ticket ${reference}). They will reply here.`,
    zh: `您的请求已转交人工客服（工单号 ${reference}），请稍候，客服会在这里回复您。`,
  }),
  handoffUnavailable: () => ({
    en: 'I could not reach our team just now. Please try again in a moment.',
    zh: '暂时无法转接人工客服，请稍后再试。',
  }),
  orderStatus: (order: Order) => {
    const s = order.shipment;
    const tracking = s?.trackingNumber
      ? {
          en: ` Carrier: ${s.carrier ?? '—'}, tracking number ${s.trackingNumber}${s.trackingUrl ? ` (${s.trackingUrl})` : ''}.`,
          zh: ` 承运商：${s.carrier ?? '—'}，运单号 ${s.trackingNumber}${s.trackingUrl ? `（${s.trackingUrl}）` : ''}。`,
        }
      : { en: '', zh: '' };
    const eta = s?.estimatedDelivery
      ? {
          en: ` Estimated delivery: ${s.estimatedDelivery.slice(0, 10)}.`,
          zh: ` 预计送达：${s.estimatedDelivery.slice(0, 10)}。`,
        }
      : { en: '', zh: '' };
    const items = order.lines.map((l) => `${l.name} × ${l.quantity}`).join(', ');
    return {
      en: `Order ${order.id} is ${STATUS[order.status].en}.${tracking.en}${eta.en}${items ? ` Items: ${items}.` : ''}`,
      zh: `订单 ${order.id} ${STATUS[order.status].zh}。${tracking.zh}${eta.zh}${items ? ` 商品：${items}。` : ''}`,
    };
  },
} satisfies Record<string, (...args: never[]) => Record<Language, string>>;
