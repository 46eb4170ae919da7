using System.ComponentModel.DataAnnotations;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>How the SMTP connection is protected.</summary>
internal enum SmtpSecurity
{
    /// <summary>Plain SMTP (a relay on the same host or network only).</summary>
    None,

    /// <summary>Plain connect, then STARTTLS (required: a server that does not offer it fails the attempt). Port 587.</summary>
    StartTls,

    /// <summary>TLS from the first byte (implicit TLS, "SMTPS"). Port 465.</summary>
    Tls,
}

/// <summary>The SMTP server mail is handed to (<c>Qianbao:Email:Smtp</c>).</summary>
internal sealed class SmtpOptions
{
    /// <summary>Host name of the SMTP server; unset means no SMTP (sandbox mode keeps mail for the operator).</summary>
    public string? Host { get; set; }

    /// <summary>TCP port (1..65535).</summary>
    [Range(1, 65_535)]
    public int Port { get; set; } = 587;

    /// <summary>The sender, <c>Qianbao &lt;no-reply@example.com&gt;</c> or a bare address; required with a host.</summary>
    public string? From { get; set; }

    public string? Username { get; set; }
    public string? Password { get; set; }
    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;
}

/// <summary>E-mail (configuration section <c>Qianbao:Email</c>); every key is listed in README.</summary>
internal sealed class EmailOptions : IOptionsRules, IDeliveryOptions
{
    public const string SectionName = "Qianbao:Email";

    /// <summary>The sender address used when no SMTP is configured (sandbox mail shows it).</summary>
    public const string SandboxFrom = "Qianbao Sandbox <no-reply@sandbox.qianbao.invalid>";

    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>Whole-exchange timeout of one delivery attempt (connect, authenticate, send), ms (100..120000).</summary>
    [Range(100, 120_000)]
    public int TimeoutMs { get; set; } = 30_000;

    /// <summary>Pause between polls of the queue when nothing new was queued, ms (10..600000).</summary>
    [Range(10, 600_000)]
    public int PollIntervalMs { get; set; } = 1000;

    /// <summary>Wait after the first failed attempt, ms; it doubles up to <see cref="RetryMaxMs"/> (100..600000).</summary>
    [Range(100, 600_000)]
    public int RetryBaseMs { get; set; } = 5000;

    /// <summary>Longest wait between two attempts, ms (100..86400000).</summary>
    [Range(100, 86_400_000)]
    public int RetryMaxMs { get; set; } = 1_800_000;

    /// <summary>Attempts before a message is given up as <c>failed</c> (1..100); the defaults keep trying for about a day.</summary>
    [Range(1, 100)]
    public int AttemptsMax { get; set; } = 60;

    public bool SmtpConfigured => !string.IsNullOrWhiteSpace(Smtp.Host);

    IEnumerable<(string Property, string Problem)> IOptionsRules.Problems()
    {
        if (!SmtpConfigured) yield break;
        if (!MimeKit.MailboxAddress.TryParse(Smtp.From ?? "", out var from) || string.IsNullOrEmpty(from.Address) || !from.Address.Contains('@'))
            yield return ("Smtp:From", $"must be an e-mail address such as 'Qianbao <no-reply@example.com>' with an SMTP host (was '{Smtp.From}')");
        if (string.IsNullOrEmpty(Smtp.Username) != string.IsNullOrEmpty(Smtp.Password))
            yield return ("Smtp:Password", "must be set together with Username (both or neither)");
    }
}
