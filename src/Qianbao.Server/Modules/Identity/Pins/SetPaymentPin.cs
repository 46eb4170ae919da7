using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity.Pins;

/// <summary>
/// <c>PUT /v1/me/payment-pin</c> <c>{pin, verification_id, code}</c> → 204. The code (purpose <c>set_pin</c>, sent to the
/// account's phone) is asked even with <c>Qianbao:Security:Relaxed</c>: whoever holds only a token must not choose the PIN.
/// 6 ASCII digits (400 <c>invalid_pin_format</c>); weak PINs are 400 <c>weak_pin</c> (see <see cref="PaymentPins.Judge"/>).
/// The PIN is judged before the code is consumed, so a refused PIN does not cost the person their code. Setting a PIN
/// lifts a PIN lock.
/// </summary>
internal static class SetPaymentPin
{
    public sealed record Request(string? Pin, string? VerificationId, string? Code);

    public static void Map(IEndpointRouteBuilder app) => app.MapPut("/v1/me/payment-pin", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, PaymentPins pins, Verifications verifications, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        var userId = http.UserId();
        if (await pins.HolderAsync(userId, ct) is not { } holder) return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "The account no longer exists.");
        switch (PaymentPins.Judge(request!.Pin, holder.BirthDate))
        {
            case PinQuality.Malformed:
                return ApiProblem.BadRequest(ErrorCodes.InvalidPinFormat, $"pin must be {PaymentPins.Length} digits (0-9).");
            case PinQuality.Weak:
                return ApiProblem.BadRequest(ErrorCodes.WeakPin,
                    "Choose a PIN that is not one digit repeated, a run such as 123456 or 654321, or your birth date (YYMMDD).");
        }
        if (!Verifications.TryParseId(request.VerificationId, out var verificationId))
            return ApiProblem.BadRequest(ErrorCodes.InvalidVerification, "verification_id and code from POST /v1/verifications (purpose set_pin) are required.");
        if (!await verifications.ConsumeAsync(verificationId, request.Code, holder.Phone, VerificationPurpose.SetPin, ct))
            return ApiProblem.Unprocessable(ErrorCodes.InvalidVerificationCode, "The code is wrong, used or expired; ask for a new one.");

        await pins.SetAsync(userId, request.Pin!, http.Connection.RemoteIpAddress?.ToString(), ct);
        return Results.NoContent();
    }
}
