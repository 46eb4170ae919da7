using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// <c>POST /merchant/v1/signup</c> <c>{company_name, credit_code, legal_person_name, legal_person_id_number, contact_phone, email,
/// password, verification_id, code}</c> → 201 <c>{merchant_id, status:"pending", totp_secret, otpauth_uri}</c>: a shop signs
/// itself up and gets its first staff member, an <c>admin</c> logging in with the e-mail, the password and the TOTP secret
/// handed out here (the only time it is shown). The credit code is checked (GB 32100, 400 <c>invalid_credit_code</c>) and
/// unique (409 <c>licence_taken</c>), the legal person's ID as a resident ID number of an adult (400
/// <c>invalid_id_number</c>), the phone by an SMS code of purpose <c>merchant_signup</c> (422
/// <c>invalid_verification_code</c>; not asked with <c>Qianbao:Security:Relaxed</c>), the e-mail is one login (409
/// <c>email_taken</c>). The names are screened against the watchlist as an operator-created merchant's are. The merchant
/// waits in the operators' review queue (<c>GET /admin/v1/merchants/signups</c>) until verified or rejected.
/// </summary>
internal static class MerchantSignup
{
    public sealed record Request(string? CompanyName, string? CreditCode, string? LegalPersonName, string? LegalPersonIdNumber, string? ContactPhone,
        string? Email, string? Password, string? VerificationId, string? Code);

    /// <summary>A signed-up merchant's fee until an operator sets another (basis points).</summary>
    public const int FeeBpsDefault = 60;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/merchant/v1/signup", HandleAsync).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, LedgerAccounts accounts, MerchantData data, MerchantStaffData staffData,
        PasswordHasher hasher, Verifications verifications, SecurityOptions security, Risk.WatchlistScreening screening, TimeProvider clock,
        CancellationToken ct)
    {
        var (r, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!IsText(r!.CompanyName)) return ApiProblem.BadRequest(ErrorCodes.InvalidName, $"company_name must be 1-{CreateMerchant.TextLengthMax} printable characters.");
        var creditProblem = UnifiedSocialCreditCode.TryParse(r.CreditCode, out var creditCode);
        if (creditProblem != CreditCodeProblem.None) return ApiProblem.BadRequest(ErrorCodes.InvalidCreditCode, UnifiedSocialCreditCode.Describe(creditProblem));
        if (!IsText(r.LegalPersonName)) return ApiProblem.BadRequest("invalid_legal_person", $"legal_person_name must be 1-{CreateMerchant.TextLengthMax} printable characters.");
        var today = DateOnly.FromDateTime(clock.GetUtcNow().ToOffset(TimeSpan.FromHours(8)).DateTime);
        if (ResidentIdNumber.TryParseAdult(r.LegalPersonIdNumber, today, out var idNumber) != ResidentIdProblem.None)
            return ApiProblem.BadRequest(ErrorCodes.InvalidIdNumber, "legal_person_id_number must be an adult's 18-character resident identity number (GB 11643).");
        if (!PhoneNumber.TryNormalize(r.ContactPhone, out var phone)) return ApiProblem.BadRequest("invalid_phone", "contact_phone must be a mobile number.");
        if (!OperatorCredentials.TryNormalizeEmail(r.Email, out var email)) return ApiProblem.BadRequest(ErrorCodes.InvalidEmail, "email must be an e-mail address.");
        if (!OperatorCredentials.IsValidPassword(r.Password))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPassword,
                $"password must be {OperatorCredentials.PasswordLengthMin}-{OperatorCredentials.PasswordLengthMax} characters.");
        if (!security.Relaxed)
        {
            if (!Verifications.TryParseId(r.VerificationId, out var verificationId))
                return ApiProblem.BadRequest(ErrorCodes.InvalidVerification, "verification_id and code from POST /v1/verifications (purpose merchant_signup) are required.");
            if (!await verifications.ConsumeAsync(verificationId, r.Code, phone, VerificationPurpose.MerchantSignup, ct))
                return ApiProblem.Unprocessable(ErrorCodes.InvalidVerificationCode, "The code is wrong, used or expired; ask for a new one.");
        }

        var now = clock.GetUtcNow();
        var merchantId = Guid.CreateVersion7(now);
        var staffId = Guid.CreateVersion7(now);
        var secret = OperatorCredentials.NewTotpSecret();
        var passwordHash = hasher.Hash(r.Password!);
        var name = r.CompanyName!.Trim();
        var legal = r.LegalPersonName!.Trim();
        await using (var connection = await db.OpenAsync(ct))
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO merchants (id, name, licence_no, licence_enc, legal_person, legal_person_id_enc, contact_phone, fee_bps, status, signed_up, created_at_us)
                VALUES (@merchantId, @name, @licenceIndex, @licence, @legal, @idNumber, @phone, @fee, @status, 1, @nowUs) ON CONFLICT (licence_no) DO NOTHING
                """, new
            {
                merchantId, name, licenceIndex = data.LicenceIndex(creditCode!.Value.Value), licence = data.Seal(merchantId, "licence_enc", creditCode.Value.Value),
                legal = data.Seal(merchantId, "legal_person", legal), idNumber = data.Seal(merchantId, "legal_person_id_enc", idNumber!.Value.Value),
                phone = data.Seal(merchantId, "contact_phone", phone), fee = FeeBpsDefault, status = MerchantRow.Pending, nowUs = now.ToUnixMicroseconds(),
            }, tx, cancellationToken: ct));
            if (inserted == 0) return ApiProblem.Conflict(ErrorCodes.LicenceTaken, "A merchant with this credit code exists.");
            if (!await MerchantStaffData.InsertAsync(connection, tx, staffData, staffId, merchantId, email, MerchantRole.Admin, passwordHash, secret,
                    now.ToUnixMicroseconds(), ct))
                return ApiProblem.Conflict(ErrorCodes.EmailTaken, "This e-mail address already logs in to a merchant.");
            await tx.CommitAsync(ct);
        }
        await accounts.EnsureAsync(ChartOfAccounts.MerchantSettlement(merchantId, Currency.Cny), merchantId, ct);
        // Onboarding is screened against Risk's watchlist as an operator-created merchant is: a hit holds verification back.
        await screening.ScreenMerchantAsync(merchantId, legal, name, ct);
        http.Response.Headers.CacheControl = "no-store";
        return Results.Json(new
        {
            merchant_id = merchantId, status = MerchantRow.Pending, totp_secret = secret, otpauth_uri = MerchantStaffData.OtpauthUri(email, secret),
        }, JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }

    private static bool IsText(string? s) => !string.IsNullOrWhiteSpace(s) && s.Length <= CreateMerchant.TextLengthMax && !s.Any(char.IsControl);
}
