using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>POST /v1/users</c> <c>{phone, password, name, verification_id, code}</c> → 201 <c>{id}</c>. The code (purpose
/// <c>register</c>, sent to the phone) proves the caller holds the phone; a wrong or used one is 422
/// <c>invalid_verification_code</c> (not asked with <c>Qianbao:Security:Relaxed</c>). An optional <c>device_id</c> is
/// recorded as the user's device at once (the code was just typed on it), so logging in from it asks no second code. The phone number is the natural
/// idempotency key: registering it again is 409 <c>phone_taken</c>, enforced by a unique index.
/// A CNY wallet account is opened with the user.
/// </summary>
internal static class RegisterUser
{
    public sealed record Request(string? Phone, string? Password, string? Name, string? VerificationId = null, string? Code = null,
        string? DeviceId = null);

    public const int PasswordLengthMin = 8;
    public const int PasswordLengthMax = 128;
    public const int NameLengthMax = 64;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/users", HandleAsync).WithTags("Users");

    public static bool IsValidPassword(string? password) => password is { Length: >= PasswordLengthMin and <= PasswordLengthMax };

    public static IResult? Validate(Request r, out string phone)
    {
        if (!PhoneNumber.TryNormalize(r.Phone, out phone))
            return ApiProblem.BadRequest("invalid_phone", "phone must be a mobile number such as 13800138000 or +8613800138000.");
        if (!IsValidPassword(r.Password))
            return ApiProblem.BadRequest("invalid_password", $"password must be {PasswordLengthMin}-{PasswordLengthMax} characters.");
        if (r.DeviceId is not null && !Devices.IsValidId(r.DeviceId))
            return ApiProblem.BadRequest(ErrorCodes.InvalidDeviceId, $"device_id must be 1-{Devices.IdLengthMax} printable characters naming this installation.");
        if (string.IsNullOrWhiteSpace(r.Name) || r.Name.Length > NameLengthMax || r.Name.Any(char.IsControl))
            return ApiProblem.BadRequest("invalid_name", $"name must be 1-{NameLengthMax} printable characters.");
        return null;
    }

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, PasswordHasher hasher, LedgerAccounts accounts,
        EventSignal events, TimeProvider clock, ILoggerFactory loggers, Verifications verifications, SecurityOptions security, UserData data,
        CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (Validate(request!, out var phone) is { } invalid) return invalid;
        if (!security.Relaxed)
        {
            if (!Verifications.TryParseId(request!.VerificationId, out var verificationId))
                return ApiProblem.BadRequest(ErrorCodes.InvalidVerification, "verification_id and code from POST /v1/verifications (purpose register) are required.");
            if (!await verifications.ConsumeAsync(verificationId, request.Code, phone, VerificationPurpose.Register, ct))
                return ApiProblem.Unprocessable(ErrorCodes.InvalidVerificationCode, "The code is wrong, used or expired; ask for a new one.");
        }

        var id = Guid.CreateVersion7(clock.GetUtcNow());
        var hash = hasher.Hash(request!.Password!);
        await using (var connection = await db.OpenAsync(ct))
        {
            // The user and its user.registered event commit together, or neither does.
            await using var tx = await connection.BeginTransactionAsync(ct);
            var now = clock.GetUnixMicroseconds();
            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO users (id, phone, phone_enc, name, password_hash, created_at_us) VALUES (@id, @phoneIndex, @phoneEnc, @name, @hash, @now)
                ON CONFLICT (phone) DO NOTHING
                """, new
            {
                id, phoneIndex = data.PhoneIndex(phone), phoneEnc = data.Seal(id, "phone_enc", phone), name = data.Seal(id, "name", request.Name!.Trim()),
                hash, now,
            }, tx, cancellationToken: ct));
            if (inserted == 0) return ApiProblem.Conflict("phone_taken", "A user with this phone number exists.");
            // The code just proved the phone from this device: its first login needs no second code.
            if (request.DeviceId is not null) await Devices.RecordAsync(connection, tx, id, request.DeviceId, clock, ct);
            await EventLog.AppendAsync(connection, tx,
                [new UserRegistered(id, PhoneNumber.Mask(phone)) { EventId = DomainEvent.IdFor<UserRegistered>(id.ToString("N")), OccurredAtUs = now }], ct);
            await tx.CommitAsync(ct);
        }
        events.Nudge();
        await accounts.EnsureAsync(ChartOfAccounts.UserWallet(id, Currency.Cny), id, ct);
        loggers.CreateLogger(typeof(RegisterUser)).LogInformation("Registered user {UserId} with phone {Phone}", id, PhoneNumber.Mask(phone));
        return Results.Json(new { id }, JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }
}
