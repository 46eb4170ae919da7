using System.Data.Common;
using Dapper;
using Qianbao.Server.Modules.Identity.Totp;
using Qianbao.Server.Storage.PersonalData;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// How <c>merchant_staff</c> stores a login (migration 0028): <c>email</c> is the address's blind index (one login, one
/// merchant), <c>email_enc</c> the address sealed; the TOTP secret is kept as Base32 (the server computes codes from it,
/// as operators' are).
/// </summary>
internal sealed class MerchantStaffData(PersonalDataProtector protector)
{
    public const string Table = "merchant_staff";
    public const string TotpIssuer = "Qianbao Merchant";

    public static SealedTable Sealed => new(Table, "id", ["email_enc"]);

    /// <summary>The address as indexed (already normalised: trimmed, lower case).</summary>
    public string EmailIndex(string email) => protector.Index(IndexKind.Email, email);

    public string SealEmail(Guid staffId, string email) => protector.Seal(email, new SealedField(Table, "email_enc", staffId));

    public string OpenEmail(Guid staffId, string sealedEmail) =>
        PersonalDataProtector.IsSealed(sealedEmail) ? protector.Open(sealedEmail, new SealedField(Table, "email_enc", staffId)) : sealedEmail;

    public static string OtpauthUri(string email, string secret)
    {
        var issuer = Uri.EscapeDataString(TotpIssuer);
        return $"otpauth://totp/{issuer}:{Uri.EscapeDataString(email)}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={TotpAuthenticator.Digits}&period={TotpAuthenticator.StepSeconds}";
    }

    /// <summary>Adds a staff member in the caller's transaction; false when the e-mail already logs in somewhere.</summary>
    public static async Task<bool> InsertAsync(DbConnection connection, DbTransaction tx, MerchantStaffData data, Guid staffId, Guid merchantId, string email,
        MerchantRole role, string passwordHash, string? totpSecret, long nowUs, CancellationToken ct) =>
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO merchant_staff (id, merchant_id, email, email_enc, role, password_hash, totp_secret, created_at_us)
            VALUES (@staffId, @merchantId, @emailIndex, @emailEnc, @role, @passwordHash, @totpSecret, @nowUs) ON CONFLICT (email) DO NOTHING
            """, new
        {
            staffId, merchantId, emailIndex = data.EmailIndex(email), emailEnc = data.SealEmail(staffId, email), role = MerchantRoles.Name(role),
            passwordHash, totpSecret, nowUs,
        }, tx, cancellationToken: ct)) == 1;
}
