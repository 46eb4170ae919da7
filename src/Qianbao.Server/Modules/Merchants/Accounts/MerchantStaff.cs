using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// A merchant's <c>admin</c> manages its staff: <c>POST /merchant/v1/staff</c> <c>{email, password, role}</c> → 201 <c>{id, email,
/// role, totp_secret?, otpauth_uri?}</c> (an admin gets a TOTP secret, shown once; 409 <c>email_taken</c>, 400
/// <c>invalid_role</c>); <c>GET /merchant/v1/staff</c> → <c>{items:[{id, email, role, disabled}]}</c>;
/// <c>POST /merchant/v1/staff/{id}/disable</c> → 204 (its tokens stop at once; an admin cannot disable themselves).
/// The admin sets the first password and hands it over: the shop's own staff, not strangers, so no invitation round trip.
/// </summary>
internal static class MerchantStaff
{
    public sealed record CreateRequest(string? Email, string? Password, string? Role);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/merchant/v1/staff", CreateAsync).RequireMerchant().WithTags("Merchant");
        app.MapGet("/merchant/v1/staff", ListAsync).RequireMerchant().WithTags("Merchant");
        app.MapPost("/merchant/v1/staff/{id}/disable", DisableAsync).RequireMerchant().WithTags("Merchant");
    }

    private static async Task<IResult> CreateAsync(HttpContext http, Db db, MerchantStaffData data, PasswordHasher hasher, TimeProvider clock, CancellationToken ct)
    {
        var (r, _, problem) = await RequestBody.ReadJsonAsync<CreateRequest>(http.Request, ct);
        if (problem is not null) return problem;
        if (!OperatorCredentials.TryNormalizeEmail(r!.Email, out var email)) return ApiProblem.BadRequest(ErrorCodes.InvalidEmail, "email must be an e-mail address.");
        if (!OperatorCredentials.IsValidPassword(r.Password))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPassword, $"password must be {OperatorCredentials.PasswordLengthMin}-{OperatorCredentials.PasswordLengthMax} characters.");
        if (!MerchantRoles.TryParse(r.Role, out var role)) return ApiProblem.BadRequest(ErrorCodes.InvalidRole, "role must be admin, cashier or analyst.");
        var merchant = http.Merchant();
        var id = Guid.CreateVersion7(clock.GetUtcNow());
        var secret = role == MerchantRole.Admin ? OperatorCredentials.NewTotpSecret() : null;
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (!await MerchantStaffData.InsertAsync(connection, tx, data, id, merchant.MerchantId, email, role, hasher.Hash(r.Password!), secret,
                clock.GetUnixMicroseconds(), ct))
            return ApiProblem.Conflict(ErrorCodes.EmailTaken, "This e-mail address already logs in to a merchant.");
        await tx.CommitAsync(ct);
        return Results.Json(new
        {
            id, email, role = MerchantRoles.Name(role), totp_secret = secret, otpauth_uri = secret is null ? null : MerchantStaffData.OtpauthUri(email, secret),
        }, JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext http, Db db, MerchantStaffData data, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<(Guid Id, string EmailEnc, string Role, long? DisabledAtUs)>(new CommandDefinition(
            "SELECT id, email_enc, role, disabled_at_us FROM merchant_staff WHERE merchant_id = @merchantId ORDER BY created_at_us, id",
            new { merchantId = http.Merchant().MerchantId }, cancellationToken: ct));
        return Results.Json(new
        {
            items = rows.Select(s => new { id = s.Id, email = data.OpenEmail(s.Id, s.EmailEnc), role = s.Role, disabled = s.DisabledAtUs is not null }),
        }, JsonDefaults.Options);
    }

    private static async Task<IResult> DisableAsync(string id, HttpContext http, Db db, DisabledMerchantStaff disabled, TimeProvider clock, CancellationToken ct)
    {
        var merchant = http.Merchant();
        if (!Guid.TryParse(id, out var staffId)) return ApiProblem.NotFound();
        if (staffId == merchant.StaffId) return ApiProblem.Conflict(ErrorCodes.OwnStaffAccount, "An admin cannot disable their own account; another admin can.");
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        var found = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE merchant_staff SET disabled_at_us = COALESCE(disabled_at_us, @nowUs) WHERE id = @staffId AND merchant_id = @merchantId",
            new { staffId, merchantId = merchant.MerchantId, nowUs }, cancellationToken: ct));
        if (found == 0) return ApiProblem.NotFound();
        disabled.Add(staffId, nowUs);
        return Results.NoContent();
    }
}
