using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>
/// <c>POST /admin/v1/merchants</c> <c>{name, credit_code, legal_person, contact_phone, fee_bps}</c> → 201
/// <c>{id, status:"pending"}</c>. The licence is the unified social credit code (GB 32100, 400 <c>invalid_credit_code</c>);
/// <c>licence_no</c> is still taken as its older name and checked the same way (both given and different: 400
/// <c>invalid_licence_no</c>). The code is unique: registering it again answers 409
/// <c>licence_taken</c>. A merchant transacts only after <c>POST /admin/v1/merchants/{id}/verify</c>. The legal person's and the
/// merchant's names are screened against the watchlist (<c>screening</c>: <c>clear</c> or <c>under_review</c>); a hit opens a
/// <c>watchlist</c> case and verification answers 409 <c>under_review</c> until the case is cleared.
/// </summary>
internal static class CreateMerchant
{
    public sealed record Request(string? Name, string? CreditCode, string? LicenceNo, string? LegalPerson, string? ContactPhone, int? FeeBps);

    public const int TextLengthMax = 128;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/admin/v1/merchants", HandleAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, LedgerAccounts accounts, MerchantData data, Risk.WatchlistScreening screening,
        TimeProvider clock, CancellationToken ct)
    {
        var (r, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!IsText(r!.Name)) return ApiProblem.BadRequest("invalid_name", $"name must be 1-{TextLengthMax} printable characters.");
        if (r.CreditCode is not null && r.LicenceNo is not null && !string.Equals(r.CreditCode.Trim(), r.LicenceNo.Trim(), StringComparison.OrdinalIgnoreCase))
            return ApiProblem.BadRequest(ErrorCodes.InvalidLicenceNo, "licence_no is the older name of credit_code; give one, or the same code in both.");
        var creditProblem = UnifiedSocialCreditCode.TryParse(r.CreditCode ?? r.LicenceNo, out var creditCode);
        if (creditProblem != CreditCodeProblem.None) return ApiProblem.BadRequest(ErrorCodes.InvalidCreditCode, UnifiedSocialCreditCode.Describe(creditProblem));
        if (!IsText(r.LegalPerson)) return ApiProblem.BadRequest("invalid_legal_person", $"legal_person must be 1-{TextLengthMax} printable characters.");
        if (!PhoneNumber.TryNormalize(r.ContactPhone, out var phone)) return ApiProblem.BadRequest("invalid_phone", "contact_phone must be a mobile number.");
        if (r.FeeBps is not (>= 0 and <= 10_000)) return ApiProblem.BadRequest("invalid_fee_bps", "fee_bps must be 0..10000 (basis points).");

        var id = Guid.CreateVersion7(clock.GetUtcNow());
        await using (var connection = await db.OpenAsync(ct))
        {
            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO merchants (id, name, licence_no, licence_enc, legal_person, contact_phone, fee_bps, status, created_at_us)
                VALUES (@id, @name, @licenceIndex, @licence, @legal, @phone, @fee, @status, @now) ON CONFLICT (licence_no) DO NOTHING
                """, new { id, name = r.Name!.Trim(), licenceIndex = data.LicenceIndex(creditCode!.Value.Value), licence = data.Seal(id, "licence_enc", creditCode.Value.Value),
                legal = data.Seal(id, "legal_person", r.LegalPerson!.Trim()), phone = data.Seal(id, "contact_phone", phone), fee = r.FeeBps.Value,
                status = MerchantRow.Pending, now = clock.GetUnixMicroseconds() }, cancellationToken: ct));
            if (inserted == 0) return ApiProblem.Conflict("licence_taken", "A merchant with this licence number exists.");
        }
        await accounts.EnsureAsync(ChartOfAccounts.MerchantSettlement(id, Currency.Cny), id, ct);
        // Onboarding is screened against Risk's watchlist: a hit opens a case, and verification waits until it is cleared.
        var underReview = await screening.ScreenMerchantAsync(id, r.LegalPerson.Trim(), r.Name.Trim(), ct);
        return Results.Json(new { id, status = MerchantRow.Pending, screening = underReview ? "under_review" : "clear" }, JsonDefaults.Options,
            statusCode: StatusCodes.Status201Created);
    }

    private static bool IsText(string? s) => !string.IsNullOrWhiteSpace(s) && s.Length <= TextLengthMax && !s.Any(char.IsControl);
}
