import nodemailer from 'nodemailer';
import type { ProofConfig } from '../config/proof-schema';
import { HubError } from '../types';
import type { CodeSender } from './one-time-code';

type EmailConfig = NonNullable<ProofConfig['email']>;

export interface EmailCodeSender {
  send: CodeSender;
  close(): void;
}

/**
 * One-time codes to the e-mail address on an order, over SMTP (`proof.email`). A send that fails
 * is a retryable `proof.email_failed`: the customer is told the code could not be sent.
 */
export function emailCodeSender(config: EmailConfig): EmailCodeSender {
  const { host, port, secure, user, pass } = config.smtp;
  const transport = nodemailer.createTransport({
    host,
    port,
    secure,
    ...(user ? { auth: { user, pass: pass ?? '' } } : {}),
  });
  return {
    async send(to, code) {
      if (to.kind !== 'email') {
        throw new HubError('proof.unsupported', `the e-mail code sender cannot reach a ${to.kind}`);
      }
      try {
        await transport.sendMail({
          from: config.from,
          to: to.address,
          subject: config.subject,
          text: `Your verification code is ${code}. It is valid for a few minutes. If you did not ask for it, ignore this e-mail.`,
        });
      } catch (cause) {
        throw new HubError(
          'proof.email_failed',
          `could not send the verification code by e-mail via ${host}:${port}`,
          {
            cause,
            retryable: true,
          },
        );
      }
    },
    close: () => transport.close(),
  };
}
