using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Consoles;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Analytics;
using Qianbao.Server.Modules.Complaints;
using Qianbao.Server.Modules.Holds;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Admin;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Modules.RedPackets;
using Qianbao.Server.Modules.Memberships;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Modules.Recommendations;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Modules.Cashback;
using Qianbao.Server.Modules.Risk;
using Qianbao.Server.Modules.Wallet;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Hosting;

public static class EndpointRegistration
{
    public static WebApplication MapQianbao(this WebApplication app)
    {
        app.UseExceptionHandler(errors => errors.Run(async http =>
        {
            // Our bugs and outages only: callers' mistakes are answered as 4xx before they get here.
            var status = http.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error is BadHttpRequestException bad
                ? bad.StatusCode : StatusCodes.Status500InternalServerError;
            var code = status == 500 ? ErrorCodes.InternalError : ErrorCodes.BadRequest;
            await ApiProblem.Create(status, code, status == 500 ? "Internal error." : "The request is invalid.").ExecuteAsync(http);
        }));
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            if (http.Response.HasStarted || http.Response.ContentLength > 0) return;
            var status = http.Response.StatusCode;
            var code = ErrorCodes.ForBareStatus(status);
            await ApiProblem.Create(status, code, "The request cannot be served.").ExecuteAsync(http);
        });

        // Forwarded headers first (the consoles call the API over loopback on the browser's behalf), then the pages.
        app.MapConsoles();
        app.MapOpenApi("/openapi/{documentName}.json");
        var mode = OptionsRules.Format(app.Services.GetRequiredService<QianbaoOptions>().Mode);
        app.MapGet("/healthz", () => Results.Json(new { status = "ok", mode })).WithTags("Health");
        app.MapGet("/readyz", async (Db db, CancellationToken ct) =>
        {
            await using var connection = await db.OpenAsync(ct);
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT 1";
            await cmd.ExecuteScalarAsync(ct);
            return Results.Json(new { status = "ready", engine = db.Engine.ToString().ToLowerInvariant() });
        }).WithTags("Health");

        app.MapOperatorsModule();
        app.MapMessagingModule();
        app.MapIdentityModule();
        app.MapWalletModule();
        app.MapChannels();
        app.MapMerchantsModule();
        app.MapAcquiringModule();
        app.MapRiskModule();
        app.MapAdminModule();
        app.MapHoldsModule();
        app.MapComplaintsModule();
        app.MapMarketingModule();
        app.MapRedPacketsModule();
        app.MapPointsModule();
        app.MapCashbackModule();
        app.MapMembershipsModule();
        app.MapNotificationsModule();
        app.MapRecommendationsModule();
        app.MapAnalyticsModule();
        app.MapGateway();
        app.MapNotifications();
        return app;
    }
}
