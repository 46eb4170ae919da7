using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>
/// Delivers the e-mail <see cref="EmailOutbox"/> queued, through <see cref="IEmailProvider"/> (SMTP, or kept in sandbox
/// mode), with the claim, lease, retry and backoff every channel shares (<see cref="OutboundSender"/>). An SMTP outage
/// only delays mail: each failed attempt waits longer, and the message goes once the server answers again.
/// </summary>
internal sealed class EmailSender(Db db, IEmailProvider provider, EmailOptions options, MessageSignal signal, TimeProvider clock,
    MessageRecipients recipients, ILogger<EmailSender> logger, IMarketingConsent? consent = null) : OutboundSender(db, options, signal, clock, logger, consent)
{
    protected override MessageChannel Channel => MessageChannel.Email;

    protected override bool CanDeliver => provider.CanDeliver;

    protected override Task<string?> SendAsync(OutboundRow row, CancellationToken ct)
    {
        var to = recipients.Open(row.id, row.recipient, row.recipient_enc);
        var from = options.SmtpConfigured ? options.Smtp.From! : EmailOptions.SandboxFrom;
        var message = EmailMime.Build(row.id, from, to, row.subject ?? "", row.text, row.html ?? "", row.locale, row.headers);
        return provider.SendAsync(message, ct);
    }
}
