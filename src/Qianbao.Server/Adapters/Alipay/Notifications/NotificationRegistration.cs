using Microsoft.Extensions.DependencyInjection.Extensions;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Merchants;

namespace Qianbao.Server.Adapters.Alipay.Notifications;

/// <summary>Wires merchant notification delivery into the host: the dispatcher, its HTTP client and the operator API.</summary>
internal static class NotificationRegistration
{
    /// <summary>
    /// Registers <see cref="NotificationOptions"/> (validated at start, so bad configuration stops it),
    /// <see cref="NotificationDispatcher"/> as a singleton that is also the hosted service (resolve it to call
    /// <see cref="NotificationDispatcher.Nudge"/> after committing a notification), and its named HTTP client.
    /// Needs <c>Db</c>, <c>PlatformKeyRing</c> and <c>TimeProvider</c> registered by the host.
    /// </summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<NotificationOptions>(configuration, NotificationOptions.SectionName);
        var notifyUrls = NotifyUrlPolicy.FromConfiguration(configuration);
        services.TryAddSingleton(notifyUrls);
        static TimeSpan Timeout(IServiceProvider sp) => TimeSpan.FromMilliseconds(sp.GetRequiredService<NotificationOptions>().NotifyTimeoutMs);
        services.AddHttpClient(NotificationDispatcher.HttpClientName, (sp, client) =>
            {
                // The dispatcher bounds the whole exchange itself; this is the same bound for the part HttpClient sees.
                client.Timeout = Timeout(sp);
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Qianbao-Notify/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var handler = new SocketsHttpHandler
                {
                    // A redirect is not "success": following it would turn the POST into a GET to wherever it points.
                    AllowAutoRedirect = false,
                    UseCookies = false,
                    // Short: a receiver that does not even accept the connection should not hold a sending slot for long.
                    ConnectTimeout = TimeSpan.FromMilliseconds(Math.Min(sp.GetRequiredService<NotificationOptions>().NotifyTimeoutMs, NotificationDispatcher.ConnectTimeoutMsMax)),
                    MaxConnectionsPerServer = NotificationDispatcher.SendConcurrencyMax,
                };
                if (!notifyUrls.AllowsPrivateAddresses)
                {
                    // Judge the address actually connected to (DNS rebinding), and connect to it directly: through a
                    // proxy the callback would only ever see the proxy's address.
                    handler.ConnectCallback = PublicAddresses.ConnectPublicOnlyAsync;
                    handler.UseProxy = false;
                }
                return handler;
            });
        services.AddSingleton<NotificationDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<NotificationDispatcher>());
        return services;
    }

    /// <summary>Maps the operator endpoints <c>GET /admin/v1/notifications</c> and <c>POST /admin/v1/notifications/{id}/replay</c>, and the merchant's own (<c>/merchant/v1/notify-deliveries</c>).</summary>
    public static IEndpointRouteBuilder MapNotifications(this IEndpointRouteBuilder app)
    {
        ListNotifications.Map(app);
        ReplayNotification.Map(app);
        MerchantNotifyDeliveries.Map(app);
        return app;
    }
}
