using System.Security.Cryptography;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>What a phone verification code is for; stored as its number, never renumber.</summary>
internal enum VerificationPurpose : short
{
    Register = 1,
    Login = 2,
    ResetPassword = 3,
    SetPin = 4,
    StepUp = 5,
    MerchantSignup = 6,
}

/// <summary>The answer to asking for a code: issued, or refused by a send limit until <c>RetryAfter</c>.</summary>
internal readonly record struct VerificationIssue(Guid? Id, TimeSpan RetryAfter)
{
    public bool Issued => Id is not null;
}

/// <summary>
/// Proof that a person holds a phone: a 6-digit code sent by SMS, kept only as a keyed hash, valid for
/// <see cref="Lifetime"/>, killed by <see cref="WrongTriesMax"/> wrong tries and accepted once. Sending is limited
/// per phone and purpose (<see cref="ResendInterval"/>) and per phone per day (<see cref="PerPhonePerDayMax"/>).
/// </summary>
internal sealed class Verifications(Db db, RateCounters rates, SmsOutbox sms, IdentityKeys keys, UserData data, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan ResendInterval = TimeSpan.FromSeconds(60);
    public const int PerPhonePerDayMax = 10;
    public const int WrongTriesMax = 5;

    public static bool TryParsePurpose(string? text, out VerificationPurpose purpose)
    {
        purpose = text switch
        {
            "register" => VerificationPurpose.Register,
            "login" => VerificationPurpose.Login,
            "reset_password" => VerificationPurpose.ResetPassword,
            "set_pin" => VerificationPurpose.SetPin,
            "step_up" => VerificationPurpose.StepUp,
            "merchant_signup" => VerificationPurpose.MerchantSignup,
            _ => 0,
        };
        return purpose != 0;
    }

    /// <summary>
    /// Issues a code for <paramref name="phone"/> (normalized) and queues its SMS in the same transaction, unless a send
    /// limit refuses. <paramref name="send"/> false records the verification without a message (a phone that has no
    /// account, for purposes that need one), so the answer does not reveal whether the phone is registered.
    /// </summary>
    public async Task<VerificationIssue> IssueAsync(string phone, VerificationPurpose purpose, Guid? userId, string? locale, bool send, CancellationToken ct)
    {
        // The table and the counters name the phone by its blind index; only the queued SMS carries it (sealed).
        var phoneIndex = data.PhoneIndex(phone);
        var perPurpose = await rates.HitAsync($"verify:{phoneIndex}:{(int)purpose}", ResendInterval, 1, ct);
        if (!perPurpose.Allowed) return new VerificationIssue(null, perPurpose.RetryAfter);
        var perDay = await rates.HitAsync($"verify-day:{phoneIndex}", TimeSpan.FromDays(1), PerPhonePerDayMax, ct);
        if (!perDay.Allowed) return new VerificationIssue(null, perDay.RetryAfter);

        var now = clock.GetUtcNow();
        var id = Guid.CreateVersion7(now);
        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO verifications (id, phone, purpose, user_id, code_hash, attempts, created_at_us, expires_at_us)
            VALUES (@id, @phone, @purpose, @userId, @hash, 0, @nowUs, @expiresUs)
            """, new
        {
            id, phone = phoneIndex, purpose = (short)purpose, userId, hash = CodeHash(id, code),
            nowUs = now.ToUnixMicroseconds(), expiresUs = now.Add(Lifetime).ToUnixMicroseconds(),
        }, tx, cancellationToken: ct));
        if (send)
        {
            var supported = MessageTemplates.Supported(locale);
            await sms.QueueAsync(connection, tx, phone, MessageTemplate.VerificationCode, supported,
                [code, (int)Lifetime.TotalMinutes, PurposeWords(purpose, supported)], ct);
        }
        await tx.CommitAsync(ct);
        return new VerificationIssue(id, TimeSpan.Zero);
    }

    /// <summary>
    /// Accepts <paramref name="code"/> once for the verification <paramref name="verificationId"/> of <paramref name="phone"/>
    /// and <paramref name="purpose"/>; a wrong code counts a try. False for anything else: wrong, used, expired,
    /// killed, or issued for another phone or purpose (the caller answers all of them alike).
    /// </summary>
    public async Task<bool> ConsumeAsync(Guid verificationId, string? code, string phone, VerificationPurpose purpose, CancellationToken ct)
    {
        if (code is not { Length: 6 } || !code.All(char.IsAsciiDigit)) code = null;
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        if (code is not null)
        {
            // One statement: of two concurrent requests with the right code, only one sees the row unconsumed.
            var accepted = await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE verifications SET consumed_at_us = @nowUs
                WHERE id = @verificationId AND phone = @phone AND purpose = @purpose AND code_hash = @hash
                  AND consumed_at_us IS NULL AND attempts < @tries AND expires_at_us > @nowUs
                """, new { verificationId, phone = data.PhoneIndex(phone), purpose = (short)purpose, hash = CodeHash(verificationId, code), nowUs, tries = WrongTriesMax },
                cancellationToken: ct));
            if (accepted == 1) return true;
        }
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE verifications SET attempts = attempts + 1 WHERE id = @verificationId AND consumed_at_us IS NULL",
            new { verificationId }, cancellationToken: ct));
        return false;
    }

    /// <summary>A verification id as a client sends it.</summary>
    public static bool TryParseId(string? text, out Guid id) => Guid.TryParse(text, out id);

    private string CodeHash(Guid id, string code) => IdentityKeys.Hash(keys.VerificationCodes, id.ToString("N"), code);

    private static string PurposeWords(VerificationPurpose purpose, string locale) => (purpose, locale == "en") switch
    {
        (VerificationPurpose.Register, false) => "注册",
        (VerificationPurpose.Register, true) => "create your account",
        (VerificationPurpose.Login, false) => "登录新设备",
        (VerificationPurpose.Login, true) => "sign in on a new device",
        (VerificationPurpose.ResetPassword, false) => "重置登录密码",
        (VerificationPurpose.ResetPassword, true) => "reset your password",
        (VerificationPurpose.SetPin, false) => "设置支付密码",
        (VerificationPurpose.SetPin, true) => "set your payment PIN",
        (VerificationPurpose.StepUp, false) => "确认大额或新设备交易",
        (VerificationPurpose.StepUp, true) => "confirm a payment",
        (VerificationPurpose.MerchantSignup, false) => "商户注册",
        (VerificationPurpose.MerchantSignup, true) => "sign up your business",
        _ => throw new ArgumentOutOfRangeException(nameof(purpose), purpose, null),
    };
}
