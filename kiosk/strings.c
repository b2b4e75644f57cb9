/* strings.c — the kiosk's one strings table. Keep it NFC (tests/ui/test_ui_logic.c checks that every entry
 * is valid UTF-8 without combining marks, which is how a decomposed "ế" would sneak in). */
#include "kiosk/strings.h"

#include <stdbool.h>
#include <string.h>

static const char *const STRINGS[STR_COUNT] = {
    [STR_AREA_TITLE] = "Ông/Bà vừa thực hiện thủ tục thuộc lĩnh vực nào?",
    [STR_RATING_TITLE] = "Ông/Bà có hài lòng với việc giải quyết thủ tục hành chính không?",
    [STR_RATING_AREA] = "Lĩnh vực: {}",
    [STR_BACK] = "‹ Quay lại",
    [STR_REASONS_TITLE] = "Ông/Bà chưa hài lòng về điều gì?",
    [STR_REASONS_HINT] = "(có thể chọn nhiều)",
    [STR_SEND] = "Gửi",
    [STR_SKIP] = "Bỏ qua",
    [STR_THANKS_TITLE] = "Cảm ơn Ông/Bà đã đánh giá!",
    [STR_THANKS_BODY] = "Ý kiến của Ông/Bà giúp chúng tôi phục vụ tốt hơn.",
    [STR_STORAGE_TITLE] = "Xin lỗi Ông/Bà, máy đang tạm gặp sự cố.",
    [STR_STORAGE_BODY] = "Đánh giá vừa rồi chưa được ghi nhận. Kính mong Ông/Bà vui lòng báo cho cán bộ tại quầy. "
                         "Xin cảm ơn!",
    [STR_STORAGE_RETRY] = "Thử lại",
    [STR_PIN_TITLE] = "Nhập mã PIN của cán bộ giám sát",
    [STR_PIN_TITLE_EXIT] = "Nhập mã PIN để thoát ứng dụng",
    [STR_PIN_WRONG] = "Mã PIN không đúng. Còn {} lần thử.",
    [STR_PIN_LOCKED] = "Đã nhập sai quá nhiều lần. Vui lòng thử lại sau {}.",
    [STR_MINUTES] = "{} phút",
    [STR_HOURS] = "{} giờ",
    [STR_CANCEL] = "Huỷ",
    [STR_OK] = "OK",
    [STR_DELETE] = "Xoá",
    [STR_SUP_TITLE] = "Kết quả đánh giá ngày {}",
    [STR_SUP_TODAY] = "(hôm nay)",
    [STR_SUP_COL_AREA] = "Lĩnh vực",
    [STR_SUP_COL_N] = "Tổng",
    [STR_SUP_COL_PCT] = "Hài lòng",
    [STR_SUP_COL_FLAGGED] = "Nghi lạm dụng",
    [STR_SUP_TOTAL] = "Tất cả",
    [STR_SUP_CHART_TITLE] = "Tỷ lệ hài lòng theo lĩnh vực",
    [STR_SUP_TARGET_2025] = "Mục tiêu 2025",
    [STR_SUP_TARGET_2030] = "Mục tiêu 2030",
    [STR_SUP_PENDING] = "Chưa tải lên: {}",
    [STR_SUP_FLAGGED] = "Nghi lạm dụng (không tính %): {}",
    [STR_SUP_REJECTED] = "Máy chủ từ chối: {}",
    [STR_SUP_HISTORY] = "Lưu trên máy từ {}",
    [STR_SUP_HISTORY_PRUNED] = "Lưu trên máy từ {} (cũ hơn đã xoá)",
    [STR_SUP_LAST_OK] = "Tải lên thành công lần cuối: {}",
    [STR_SUP_NEVER] = "chưa lần nào",
    [STR_SUP_LAST_ERROR] = "Lỗi gần nhất: {}",
    [STR_SUP_NO_ERROR] = "Lỗi gần nhất: không có",
    [STR_SUP_SYNC_WAITING] = "Đã yêu cầu đồng bộ lúc {}, đang chờ chương trình tải lên…",
    [STR_SUP_CLOCK_WARNING] = "Cảnh báo: đồng hồ của máy bị sai lệch, vui lòng chỉnh lại giờ.",
    [STR_SUP_SYNC_FAILED] = "Không ghi được yêu cầu đồng bộ. Vui lòng thử lại.",
    [STR_SUP_READ_FAILED] = "Không đọc được dữ liệu. Vui lòng kiểm tra bộ nhớ của máy.",
    [STR_SUP_NO_DATA] = "Chưa có đánh giá nào trong ngày này.",
    [STR_SUP_SYNC_NOW] = "Đồng bộ ngay",
    [STR_SUP_CLOSE] = "Thoát",
    [STR_SUP_EXIT_APP] = "Thoát ứng dụng",
};

#define SLOT "{}"

const char *str(StrId id)
{
    if((unsigned)id >= STR_COUNT || !STRINGS[id])
        return "";
    return STRINGS[id];
}

int str_slots(StrId id)
{
    int n = 0;
    for(const char *p = str(id); (p = strstr(p, SLOT)); p += sizeof SLOT - 1)
        n++;
    return n;
}

/* Appends n bytes of src to out (length *len, capacity cap), cutting before a character that does not fit.
 * False once something was cut: nothing may follow a cut. */
static bool append(char *out, size_t cap, size_t *len, const char *src, size_t n)
{
    bool whole = *len + n < cap;
    if(!whole) {
        n = cap - 1 - *len;
        while(n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80) /* src[n] continues a character: drop it whole */
            n--;
    }
    memcpy(out + *len, src, n);
    *len += n;
    out[*len] = '\0';
    return whole;
}

const char *str_fill(char *out, size_t cap, StrId id, const char *arg)
{
    if(!cap)
        return out;
    size_t len = 0;
    out[0] = '\0';
    const char *t = str(id), *slot = strstr(t, SLOT);
    if(!slot) {
        append(out, cap, &len, t, strlen(t));
        return out;
    }
    const char *rest = slot + sizeof SLOT - 1;
    if(append(out, cap, &len, t, (size_t)(slot - t)) && append(out, cap, &len, arg ? arg : "", arg ? strlen(arg) : 0))
        append(out, cap, &len, rest, strlen(rest));
    return out;
}
