-- Scratch warehouse for developing and checking the dbt project by hand.
-- Creates what the load step normally creates (schemas raw and ops, one raw table per registry
-- entity of include/sources, the load ledger) and fills them with a few realistic rows per
-- table, one defective row per rule.
--
--   dropdb -h 127.0.0.1 -U postgres --if-exists ndc_dbt_dev
--   createdb -h 127.0.0.1 -U postgres -E UTF8 -T template0 ndc_dbt_dev
--   psql -h 127.0.0.1 -U postgres -d ndc_dbt_dev -v ON_ERROR_STOP=1 -f scripts/dev_fixture.sql
--   NDC_WAREHOUSE_DB=ndc_dbt_dev ../.venv/bin/dbt build --profiles-dir .
--
-- The database must be UTF8 (normalize(..., nfc) requires it). Re-running this script
-- replaces the raw and ops schemas. E'...\uXXXX' strings give decomposed (NFD or
-- Windows-1258 style) text exactly as a legacy province's file decodes.

begin;

drop schema if exists raw cascade;
drop schema if exists ops cascade;
create schema raw;
create schema ops;

create table ops.load_ledger (
    batch_id text primary key,
    source text not null,
    entity text not null,
    source_file text,
    landing_key text not null,
    rows_extracted bigint not null,
    rows_landed bigint not null,
    rows_loaded bigint not null,
    loaded_at timestamptz not null
);

create table raw.civil_registration__birth (
    so_dang_ky text,
    ngay_dang_ky text,
    so_dinh_danh text,
    ho_ten text,
    ngay_sinh text,
    gioi_tinh text,
    noi_sinh_tinh text,
    ho_ten_me text,
    so_dinh_danh_me text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.civil_registration__death (
    so_dang_ky text,
    ngay_dang_ky text,
    so_dinh_danh text,
    ho_ten text,
    ngay_sinh text,
    ngay_mat text,
    noi_mat_tinh text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.civil_registration__marriage (
    so_dang_ky text,
    ngay_dang_ky text,
    so_dinh_danh_chong text,
    ho_ten_chong text,
    ngay_sinh_chong text,
    so_dinh_danh_vo text,
    ho_ten_vo text,
    ngay_sinh_vo text,
    noi_dang_ky_tinh text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.social_insurance__insured_person (
    ma_so_bhxh text,
    so_dinh_danh text,
    so_cmnd text,
    ho_ten text,
    ngay_sinh text,
    gioi_tinh text,
    ma_don_vi text,
    ma_so_thue_don_vi text,
    so_dien_thoai text,
    updated_at text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.social_insurance__contribution_period (
    id text,
    ma_so_bhxh text,
    tu_thang text,
    den_thang text,
    muc_luong text,
    ma_so_thue_don_vi text,
    updated_at text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.residence__residence_change (
    id text,
    so_dinh_danh text,
    loai_bien_dong text,
    ma_tinh text,
    ma_huyen text,
    ma_xa text,
    dia_chi_chi_tiet text,
    ngay_bien_dong text,
    updated_at text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.residence__household_member (
    id text,
    ma_ho text,
    so_dinh_danh text,
    quan_he_chu_ho text,
    tu_ngay text,
    den_ngay text,
    updated_at text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.education__student (
    student_id text,
    citizen_id text,
    full_name text,
    date_of_birth text,
    gender text,
    ethnicity_code text,
    updated_at text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.education__enrolment (
    enrolment_id text,
    student_id text,
    school_code text,
    school_year text,
    grade text,
    enrolled_on text,
    updated_at text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.education__graduation (
    graduation_id text,
    student_id text,
    level text,
    year text,
    classification text,
    updated_at text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

create table raw.business_registry__enterprise (
    ma_so_thue text,
    ten_doanh_nghiep text,
    loai_hinh text,
    ngay_thanh_lap text,
    dia_chi_tru_so text,
    ma_tinh text,
    ho_ten_nguoi_dai_dien text,
    so_dinh_danh_nguoi_dai_dien text,
    trang_thai text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now(),
    _extra jsonb
);

-- Births: Ha Noi file of 10 June (UTF-8, and two rows as a Windows-1258 file decodes),
-- Ho Chi Minh City file of 11 June.
insert into raw.civil_registration__birth
    (so_dang_ky, ngay_dang_ky, so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, noi_sinh_tinh,
     ho_ten_me, so_dinh_danh_me, _batch_id, _source_row, _loaded_at)
values
    ('KS-01-2025-000101', '5/6/2025', '001225000101', 'Nguyễn Minh Khang', '1/6/2025', 'Nam', '01', 'Nguyễn Thị Lan', '001190012345', 'cr-birth-20250610-01', 1, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000102', '5/6/2025', '001325000102', 'Trần  Ngọc Hân ', '28/5/2025', 'Nữ', '01', 'Phạm Thị Hoa', '001192023456', 'cr-birth-20250610-01', 2, '2025-06-10 08:00:00+07'),
    -- NFD "Nguyễn Văn Đức"
    ('KS-01-2025-000103', '6/6/2025', '001225000103', E'Nguye\u0302\u0303n Va\u0306n \u0110u\u031b\u0301c', '02/06/2025', 'Nam', '01', E'Le\u0302 Thi\u0323 Thu\u0301y', '001193034567', 'cr-birth-20250610-01', 3, '2025-06-10 08:00:00+07'),
    -- Windows-1258 style "Lê Thị Thuỷ", sex "Nữ" decomposed
    ('KS-01-2025-000104', '6/6/2025', '001325000104', E'L\u00ea Thi\u0323 Thuy\u0309', '3/6/2025', E'N\u01b0\u0303', '01', 'Đỗ Thị Hằng', '001194045678', 'cr-birth-20250610-01', 4, '2025-06-10 08:00:00+07'),
    -- TCVN3 read as Latin-1 (docs/domain.md#text-as-it-arrives): "Nguyễn Văn Đức", mother "Hoàng Thị Thủy"
    ('KS-01-2025-000115', '6/6/2025', '001225000115', 'NguyÔn V¨n §øc', '3/6/2025', 'Nam', '01', 'Hoµng ThÞ Thñy', '001194045679', 'cr-birth-20250610-01', 15, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000105', '6/6/2025', '', 'Hoàng Gia Huy', '4/6/2025', 'Nam', '01', 'Hoàng Thị Nga', '001195056789', 'cr-birth-20250610-01', 5, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000106', '7/6/2025', '00122500010', 'Vũ Đức Anh', '4/6/2025', 'Nam', '01', 'Vũ Thị Thanh', '001196067890', 'cr-birth-20250610-01', 6, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000107', '7/6/2025', '001325000107', 'Bùi Khánh Linh', '31/2/2024', 'Nữ', '01', 'Bùi Thị Yến', '001197078901', 'cr-birth-20250610-01', 7, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000108', '7/6/2025', '001225000108', 'Đặng Quang Minh', '??/5/2025', 'Nam', '01', 'Đặng Thị Loan', '001198089012', 'cr-birth-20250610-01', 8, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000109', '12/13/2020', '001325000109', 'Ngô Phương Thảo', '8/6/2025', 'Nữ', '01', 'Ngô Thị Mai', '001199090123', 'cr-birth-20250610-01', 9, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000110', '9/6/2025', '001225000110', 'Dương Hải Nam', '15/7/2025', 'Nam', '01', 'Dương Thị Hà', '001190101234', 'cr-birth-20250610-01', 10, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000111', '9/6/2025', '001325000111', 'Lý Bảo Ngọc', '7/6/2025', 'Không rõ', '01', 'Lý Thị Hương', '001191112345', 'cr-birth-20250610-01', 11, '2025-06-10 08:00:00+07'),
    -- Late registration of an adult (also insured, later deceased)
    ('KS-01-2025-000112', '9/6/2025', '001090000201', 'Nguyễn Văn An', '15/3/1990', 'Nam', '01', 'Nguyễn Thị Tâm', '001160000111', 'cr-birth-20250610-01', 12, '2025-06-10 08:00:00+07'),
    -- Duplicates: row 2 again, exactly (merged, exact); birth 000101 registered a second time
    -- with the child's name typed without marks (merged into 000101, near).
    ('KS-01-2025-000102', '5/6/2025', '001325000102', 'Trần  Ngọc Hân ', '28/5/2025', 'Nữ', '01', 'Phạm Thị Hoa', '001192023456', 'cr-birth-20250610-01', 13, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000113', '5/6/2025', '001225000101', 'Nguyen Minh Khang', '1/6/2025', 'Nam', '01', 'Nguyễn Thị Lan', '001190012345', 'cr-birth-20250610-01', 14, '2025-06-10 08:00:00+07'),
    ('KS-79-2025-000201', '10/6/2025', '079225000201', 'Phạm Gia Bảo', '1/6/2025', 'Nam', '79', 'Phạm Thị Diễm', '079190201234', 'cr-birth-20250611-79', 1, '2025-06-11 08:00:00+07'),
    ('KS-79-2025-000202', '10/6/2025', '079325000202', 'Võ Ngọc Anh Thư', '2/6/2025', 'Nữ', '79', 'Võ Thị Kim', '079191212345', 'cr-birth-20250611-79', 2, '2025-06-11 08:00:00+07'),
    ('KS-79-2025-000203', '10/6/2025', '079225000203', 'Huỳnh Tấn Phát', '10/6/2025', 'Nam', '79', 'Huỳnh Thị Bích', '079192223456', 'cr-birth-20250611-79', 3, '2025-06-11 08:00:00+07'),
    -- Twin of 000201 (same mother and date of birth, own name and ID): not a duplicate.
    ('KS-79-2025-000204', '10/6/2025', '079225000204', 'Phạm Gia Huy', '1/6/2025', 'Nam', '79', 'Phạm Thị Diễm', '079190201234', 'cr-birth-20250611-79', 4, '2025-06-11 08:00:00+07'),
    -- 12 digits, but no province 59: PID_UNKNOWN_PROVINCE.
    ('KS-79-2025-000205', '10/6/2025', '059325000205', 'Trịnh Ngọc Diệp', '8/6/2025', 'Nữ', '79', 'Trịnh Thị Hồng', '079193234567', 'cr-birth-20250611-79', 5, '2025-06-11 08:00:00+07');

-- Deaths: Ha Noi file of 10 June, Ho Chi Minh City file of 11 June.
insert into raw.civil_registration__death
    (so_dang_ky, ngay_dang_ky, so_dinh_danh, ho_ten, ngay_sinh, ngay_mat, noi_mat_tinh,
     _batch_id, _source_row, _loaded_at)
values
    ('KT-01-2025-000301', '4/6/2025', '001045000301', 'Đỗ Văn Hùng', '3/4/1945', '2/6/2025', '01', 'cr-death-20250610-01', 1, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000302', '4/6/2025', '001150000302', 'Bùi Thị Hạnh', '12/12/1950', '1/6/2025', '01', 'cr-death-20250610-01', 2, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000303', '6/6/2025', '001090000202', 'Trần Văn Bình', '20/7/1990', '5/6/2025', '01', 'cr-death-20250610-01', 3, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000304', '9/6/2025', '001090000201', 'Nguyễn Văn An', '15/3/1990', '8/6/2025', '01', 'cr-death-20250610-01', 4, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000305', '9/6/2025', '001048000305', 'Phan Văn Lộc', '', '7/6/2025', '01', 'cr-death-20250610-01', 5, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000306', '9/6/2025', '', 'Tạ Thị Nhung', '1/1/1940', '7/6/2025', '01', 'cr-death-20250610-01', 6, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000307', '9/6/2025', '00104500030X', 'Lương Văn Tài', '2/2/1945', '6/6/2025', '01', 'cr-death-20250610-01', 7, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000308', '9/6/2025', '001152000308', 'Mai Thị Xuân', '5/5/1952', '30/2/2025', '01', 'cr-death-20250610-01', 8, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000309', 'abc', '001047000309', 'Chu Văn Sơn', '9/9/1947', '3/6/2025', '01', 'cr-death-20250610-01', 9, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000310', '9/6/2025', '001155000310', 'Kiều Thị Oanh', '6/6/1955', '20/6/2025', '01', 'cr-death-20250610-01', 10, '2025-06-10 08:05:00+07'),
    -- NFD "Hoàng Văn Thắng"
    ('KT-01-2025-000311', '9/6/2025', '001049000311', E'Hoa\u0300ng Va\u0306n Tha\u0306\u0301ng', '11/11/1949', '8/6/2025', '01', 'cr-death-20250610-01', 11, '2025-06-10 08:05:00+07'),
    -- Death 000302 registered again, the name without marks (merged into 000302, near).
    ('KT-01-2025-000312', '9/6/2025', '001150000302', 'Bui Thi Hanh', '12/12/1950', '1/6/2025', '01', 'cr-death-20250610-01', 12, '2025-06-10 08:05:00+07'),
    ('KT-79-2025-000401', '10/6/2025', '079042000401', 'Trương Văn Lâm', '1/3/1942', '9/6/2025', '79', 'cr-death-20250611-79', 1, '2025-06-11 08:05:00+07'),
    ('KT-79-2025-000402', '10/6/2025', '079146000402', 'Lâm Thị Cúc', '14/2/1946', '8/6/2025', '79', 'cr-death-20250611-79', 2, '2025-06-11 08:05:00+07'),
    ('KT-79-2025-000403', '10/6/2025', '079191000403', 'Lê Thị Hoa', '2/11/1991', '9/6/2025', '79', 'cr-death-20250611-79', 3, '2025-06-11 08:05:00+07'),
    ('KT-79-2025-000404', '11/6/2025', '079050000404', 'Quách Văn Phúc', '00/00/1950', '10/6/2025', '79', 'cr-death-20250611-79', 4, '2025-06-11 08:05:00+07'),
    -- Row 1 again, exactly (merged, exact).
    ('KT-79-2025-000401', '10/6/2025', '079042000401', 'Trương Văn Lâm', '1/3/1942', '9/6/2025', '79', 'cr-death-20250611-79', 5, '2025-06-11 08:05:00+07'),
    -- Only the year of birth is known: valid, year precision (1938-01-01).
    ('KT-79-2025-000405', '11/6/2025', '079038000405', 'Thạch Văn Sơn', '1938', '10/6/2025', '79', 'cr-death-20250611-79', 6, '2025-06-11 08:05:00+07'),
    -- A year alone in the future: DATE_IN_FUTURE.
    ('KT-79-2025-000406', '11/6/2025', '079140000406', 'Danh Thị Sa', '2089', '10/6/2025', '79', 'cr-death-20250611-79', 7, '2025-06-11 08:05:00+07');

-- Insured persons: incremental extractions of 9 and 10 June (a changed person reappears).
insert into raw.social_insurance__insured_person
    (ma_so_bhxh, so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, ma_don_vi, updated_at,
     _batch_id, _source_row, _loaded_at)
values
    ('0123456701', '001090000201', 'NGUYEN VAN AN', '1990-03-15', '1', 'TA0001A', '2025-06-08 10:00:00', 'si-insured-20250609', 1, '2025-06-09 02:00:00+07'),
    ('0123456702', '001090000202', 'Trần Văn Bình', '1990-07-20', '1', 'TA0001A', '2025-06-08 10:05:00', 'si-insured-20250609', 2, '2025-06-09 02:00:00+07'),
    ('0123456703', '079191000403', 'LE THI HOA', '1991-11-02', '0', 'TB0002B', '2025-06-08 11:00:00', 'si-insured-20250609', 3, '2025-06-09 02:00:00+07'),
    ('0123456704', '079185000204', 'Phạm Thị Thu', '1985-04-30', '0', 'TB0002B', '2025-06-08 11:30:00', 'si-insured-20250609', 4, '2025-06-09 02:00:00+07'),
    ('0123456705', '', 'TRINH VAN HAI', '1988-08-08', '1', 'TB0002B', '2025-06-08 12:00:00', 'si-insured-20250609', 5, '2025-06-09 02:00:00+07'),
    ('0123456706', 'A01090000206', 'Hồ Văn Nam', '1990-01-01', '1', 'TC0003C', '2025-06-08 12:10:00', 'si-insured-20250609', 6, '2025-06-09 02:00:00+07'),
    ('0123456707', '001190000207', 'Đinh Thị Lụa', '1990-02-30', '0', 'TC0003C', '2025-06-08 12:20:00', 'si-insured-20250609', 7, '2025-06-09 02:00:00+07'),
    ('0123456708', '001087000208', 'CAO VAN DUNG', '15/03/1987', '1', 'TC0003C', '2025-06-08 12:30:00', 'si-insured-20250609', 8, '2025-06-09 02:00:00+07'),
    ('0123456709', '001230000209', 'Tô Minh Quân', '2030-01-01', '1', 'TC0003C', '2025-06-08 12:40:00', 'si-insured-20250609', 9, '2025-06-09 02:00:00+07'),
    ('0123456710', '001193000210', 'Lạc Thị Nguyệt', '1993-06-06', '2', 'TC0003C', '2025-06-08 12:50:00', 'si-insured-20250609', 10, '2025-06-09 02:00:00+07'),
    ('0123456701', '001090000201', 'Nguyễn Văn An', '1990-03-15', '1', 'TD0004D', '2025-06-09 09:00:00', 'si-insured-20250610', 1, '2025-06-10 02:00:00+07'),
    ('0123456703', '079191000403', 'LE THI HOA', '1991-11-02', '0', 'TD0004D', '2025-06-09 09:30:00', 'si-insured-20250610', 2, '2025-06-10 02:00:00+07'),
    ('0123456711', '001092000211', 'Đặng Quốc Việt', '1992-12-24', '1', 'TD0004D', '2025-06-09 10:00:00', 'si-insured-20250610', 3, '2025-06-10 02:00:00+07'),
    ('0123456712', '001194000212', 'HOANG THI MAI', '1994-10-10', '0', 'TD0004D', '2025-06-09 10:30:00', 'si-insured-20250610', 4, '2025-06-10 02:00:00+07'),
    -- A later version with a malformed ID: quarantined; the 9 June version survives.
    ('0123456702', '00109000020', 'Trần Văn Bình', '1990-07-20', '1', 'TD0004D', '2025-06-09 11:00:00', 'si-insured-20250610', 5, '2025-06-10 02:00:00+07');

-- Insured persons with the columns the source added (so_cmnd, employer tax code, phone):
-- a "CMND only" person conforms without a personal ID; neither ID -> PID_MISSING.
insert into raw.social_insurance__insured_person
    (ma_so_bhxh, so_dinh_danh, so_cmnd, ho_ten, ngay_sinh, gioi_tinh, ma_don_vi,
     ma_so_thue_don_vi, so_dien_thoai, updated_at, _batch_id, _source_row, _loaded_at)
values
    ('0123456713', '001088000213', null, 'Kim Văn Tuấn', '1988-02-14', '1', 'TE0005E', '0101234567', '0912345678', '2025-06-10 09:00:00', 'si-insured-20250611', 1, '2025-06-11 02:00:00+07'),
    ('0123456714', null, '012345678', 'TRINH VAN HAI', '1968-08-08', '1', 'TE0005E', '0101234567', '0987654321', '2025-06-10 09:05:00', 'si-insured-20250611', 2, '2025-06-11 02:00:00+07'),
    -- Phones: an old 11-digit Viettel number (-> +84362345678) and one that is no number.
    ('0123456715', '', ' 023456789 ', 'Lưu Thị Gấm', '1970-04-04', '0', 'TE0005E', '0101234567', '0166.234.5678', '2025-06-10 09:10:00', 'si-insured-20250611', 3, '2025-06-11 02:00:00+07'),
    ('0123456716', null, null, 'Mạc Văn Khôi', '1972-05-05', '1', 'TE0005E', '0101234567', 'không có', '2025-06-10 09:15:00', 'si-insured-20250611', 4, '2025-06-11 02:00:00+07'),
    -- Đặng Quốc Việt (0123456711) insured a second time under another code, the name in
    -- legacy upper case, no phone (merged into 0123456711, near).
    ('0123456717', '001092000211', null, 'DANG QUOC VIET', '1992-12-24', '1', 'TD0004D', null, null, '2025-06-10 09:20:00', 'si-insured-20250611', 5, '2025-06-11 02:00:00+07'),
    -- Another Nguyễn Văn An born 15/3/1990 (another personal ID than 0123456701): kept.
    ('0123456718', '001090000218', null, 'Nguyễn Văn An', '1990-03-15', '1', 'TE0005E', '0101234567', '0903123456', '2025-06-10 09:25:00', 'si-insured-20250611', 6, '2025-06-11 02:00:00+07'),
    -- No province 63 (legacy codes skip it): PID_UNKNOWN_PROVINCE.
    ('0123456720', '063199000220', null, 'Yên Thị Hậu', '1999-04-12', '0', 'TE0005E', '0101234567', '0904123456', '2025-06-10 09:20:00', 'si-insured-20250611', 7, '2025-06-11 02:00:00+07');

-- Marriages: Ha Noi file of 11 June.
insert into raw.civil_registration__marriage
    (so_dang_ky, ngay_dang_ky, so_dinh_danh_chong, ho_ten_chong, ngay_sinh_chong,
     so_dinh_danh_vo, ho_ten_vo, ngay_sinh_vo, noi_dang_ky_tinh, _batch_id, _source_row, _loaded_at)
values
    ('KH-01-2025-000501', '5/6/2025', '001092000211', 'Đặng Quốc Việt', '24/12/1992', '001194000212', 'Hoàng Thị Mai', '10/10/1994', '01', 'cr-marriage-20250611-01', 1, '2025-06-11 08:10:00+07'),
    ('KH-01-2025-000502', '6/6/2025', '001095000502', 'Lê Văn Quang', '', '001197000502', 'Phan Thị Thu', '', '01', 'cr-marriage-20250611-01', 2, '2025-06-11 08:10:00+07'),
    ('KH-01-2025-000503', '6/6/2025', '001095000503', 'Trịnh Văn Hòa', '3/3/1995', '00119700050', 'Nghiêm Thị Vân', '4/4/1997', '01', 'cr-marriage-20250611-01', 3, '2025-06-11 08:10:00+07'),
    ('KH-01-2025-000504', '7/6/2025', '', 'Khổng Văn Đạt', '5/5/1990', '001192000504', 'Tống Thị Yến', '6/6/1992', '01', 'cr-marriage-20250611-01', 4, '2025-06-11 08:10:00+07'),
    ('KH-01-2025-000505', '7/6/2025', '001091000505', 'Âu Văn Sang', '31/4/1991', '001193000505', 'Từ Thị Lệ', '7/7/1993', '01', 'cr-marriage-20250611-01', 5, '2025-06-11 08:10:00+07'),
    ('KH-01-2025-000506', '30/6/2025', '001090000506', 'Hà Văn Long', '8/8/1990', '001192000506', 'Mẫn Thị Sen', '9/9/1992', '01', 'cr-marriage-20250611-01', 6, '2025-06-11 08:10:00+07'),
    -- The husband's year of birth alone; the wife's ID of no province (57): PID_UNKNOWN_PROVINCE.
    ('KH-01-2025-000507', '8/6/2025', '001060000507', 'Lục Văn Tiến', '1960', '057306000507', 'La Thị Nhàn', '3/3/2006', '01', 'cr-marriage-20250611-01', 7, '2025-06-11 08:10:00+07');

-- Contribution periods: incremental extraction of 10 June.
insert into raw.social_insurance__contribution_period
    (id, ma_so_bhxh, tu_thang, den_thang, muc_luong, ma_so_thue_don_vi, updated_at,
     _batch_id, _source_row, _loaded_at)
values
    ('900001', '0123456701', '01/2020', '12/2024', '8500000', '0101234567', '2025-06-09 08:00:00', 'si-contribution-20250610', 1, '2025-06-10 02:00:00+07'),
    ('900002', '0123456701', '01/2025', null, '9200000', '0107654321', '2025-06-09 08:00:00', 'si-contribution-20250610', 2, '2025-06-10 02:00:00+07'),
    ('900003', '0123456714', '03/2019', '', '6000000', '0101234567', '2025-06-09 08:05:00', 'si-contribution-20250610', 3, '2025-06-10 02:00:00+07'),
    ('900004', '0123456703', '13/2024', null, '7000000', '0101234567', '2025-06-09 08:10:00', 'si-contribution-20250610', 4, '2025-06-10 02:00:00+07'),
    ('900005', '0123456704', '02/2023', '2024-06', '7000000', '0101234567', '2025-06-09 08:15:00', 'si-contribution-20250610', 5, '2025-06-10 02:00:00+07');

-- Residence changes: incremental extraction of 10 June.
insert into raw.residence__residence_change
    (id, so_dinh_danh, loai_bien_dong, ma_tinh, ma_huyen, ma_xa, dia_chi_chi_tiet,
     ngay_bien_dong, updated_at, _batch_id, _source_row, _loaded_at)
values
    ('700001', '001092000211', 'DK_THUONG_TRU', '01', '001', '00001', 'Số 12  ngõ 34 phố Hàng Bông', '2025-06-02', '2025-06-09 10:00:00', 'rs-change-20250610', 1, '2025-06-10 03:00:00+07'),
    ('700002', '001194000212', 'XOA_THUONG_TRU', '79', '760', '26734', '56 Lê Lợi', '2025-06-03', '2025-06-09 10:05:00', 'rs-change-20250610', 2, '2025-06-10 03:00:00+07'),
    ('700003', '079185000204', 'DK_TAM_TRU', '01', '005', '00160', 'Phòng 305, ký túc xá', '2025-06-04', '2025-06-09 10:10:00', 'rs-change-20250610', 3, '2025-06-10 03:00:00+07'),
    -- Legacy ward 00007 was split between two 2025 communes: conversion ambiguous.
    ('700004', '', 'DK_THUONG_TRU', '01', '001', '00007', '1 Tràng Tiền', '2025-06-04', '2025-06-09 10:15:00', 'rs-change-20250610', 4, '2025-06-10 03:00:00+07'),
    ('700005', '001090000205', 'CHUYEN_KHAU', '01', '001', '00001', '2 Tràng Tiền', '2025-06-04', '2025-06-09 10:20:00', 'rs-change-20250610', 5, '2025-06-10 03:00:00+07'),
    ('700006', '001090000206', 'DK_TAM_TRU', '01', '001', '00001', '3 Tràng Tiền', '04/06/2025', '2025-06-09 10:25:00', 'rs-change-20250610', 6, '2025-06-10 03:00:00+07'),
    ('700007', '001090000207', 'DK_TAM_TRU', '01', '001', '00001', '4 Tràng Tiền', '2025-07-01', '2025-06-09 10:30:00', 'rs-change-20250610', 7, '2025-06-10 03:00:00+07');

-- Household members: incremental extraction of 10 June.
insert into raw.residence__household_member
    (id, ma_ho, so_dinh_danh, quan_he_chu_ho, tu_ngay, den_ngay, updated_at,
     _batch_id, _source_row, _loaded_at)
values
    ('800001', 'HO-01-000001', '001092000211', '01', '2020-01-15', null, '2025-06-09 11:00:00', 'rs-household-20250610', 1, '2025-06-10 03:00:00+07'),
    ('800002', 'HO-01-000001', '001194000212', '02', '2025-06-06', null, '2025-06-09 11:00:00', 'rs-household-20250610', 2, '2025-06-10 03:00:00+07'),
    ('800003', 'HO-01-000001', '001225000101', '03', '2025-06-06', '', '2025-06-09 11:00:00', 'rs-household-20250610', 3, '2025-06-10 03:00:00+07'),
    ('800004', 'HO-01-000002', '001045000301', '04', '1990-01-01', '2025-06-02', '2025-06-09 11:05:00', 'rs-household-20250610', 4, '2025-06-10 03:00:00+07'),
    ('800005', 'HO-01-000002', '001150000302', '7', '1990-01-01', null, '2025-06-09 11:05:00', 'rs-household-20250610', 5, '2025-06-10 03:00:00+07'),
    ('800006', 'HO-01-000002', '0011500003', '99', '1990-01-01', null, '2025-06-09 11:05:00', 'rs-household-20250610', 6, '2025-06-10 03:00:00+07'),
    ('800007', 'HO-01-000002', '001150000307', '06', '1990-01-01', '31/12/2024', '2025-06-09 11:05:00', 'rs-household-20250610', 7, '2025-06-10 03:00:00+07');

-- Education: API extraction of 30 June (students, enrolments, graduations).
insert into raw.education__student
    (student_id, citizen_id, full_name, date_of_birth, gender, ethnicity_code, updated_at,
     _batch_id, _source_row, _loaded_at)
values
    ('HS-0000001', null, 'Lò Văn Páo', '2018-09-05', 'M', '12', '2025-06-28T08:15:00Z', 'ed-student-20250630', 1, '2025-06-30 06:00:00+07'),
    ('HS-0000002', '001209000002', 'Nguyễn Thu  Trang', '12/3/2009', 'F', '01', '2025-06-28T08:16:00Z', 'ed-student-20250630', 2, '2025-06-30 06:00:00+07'),
    ('HS-0000003', '00120900000', 'Trần Minh Tú', '2009-04-01', 'M', '01', '2025-06-28T08:17:00Z', 'ed-student-20250630', 3, '2025-06-30 06:00:00+07'),
    -- UTF-8 read as cp1252 and stored again ("Nguyễn Đức Long"; byte 0x90 kept as U+0090)
    ('HS-0000007', '001210000007', E'Nguy\u00e1\u00bb\u2026n \u00c4\u0090\u00e1\u00bb\u00a9c Long', '2010-01-31', 'M', '01', '2025-06-28T08:21:00Z', 'ed-student-20250630', 7, '2025-06-30 06:00:00+07'),
    ('HS-0000004', null, 'Vàng Thị Dua', '2012-02-30', 'F', '13', '2025-06-28T08:18:00Z', 'ed-student-20250630', 4, '2025-06-30 06:00:00+07'),
    ('HS-0000005', null, 'Phạm Gia Huy', '2012-02-03', 'Nam', '01', '2025-06-28T08:19:00Z', 'ed-student-20250630', 5, '2025-06-30 06:00:00+07'),
    ('HS-0000006', null, 'Y Bhim Niê', '2011-07-07', 'M', '55', '2025-06-28T08:20:00Z', 'ed-student-20250630', 6, '2025-06-30 06:00:00+07'),
    -- d/m/yyyy typed into the ISO field: parsed day first (2015-07-14).
    ('HS-0000008', '079315000008', 'Lâm Gia Hân', '14/07/2015', 'F', '06', '2025-06-28T08:21:00Z', 'ed-student-20250630', 8, '2025-06-30 06:00:00+07');

insert into raw.education__enrolment
    (enrolment_id, student_id, school_code, school_year, grade, enrolled_on, updated_at,
     _batch_id, _source_row, _loaded_at)
values
    ('GD-0000001', 'HS-0000001', '01001001', '2025-2026', '1', '2025-06-20', '2025-06-28T09:00:00Z', 'ed-enrolment-20250630', 1, '2025-06-30 06:00:00+07'),
    ('GD-0000002', 'HS-0000002', '01001002', '2025-2026', '11', '2025-06-21', '2025-06-28T09:00:00Z', 'ed-enrolment-20250630', 2, '2025-06-30 06:00:00+07'),
    ('GD-0000003', 'HS-0000006', '66001003', '2025-2026', '9', '20/6/2025', '2025-06-28T09:00:00Z', 'ed-enrolment-20250630', 3, '2025-06-30 06:00:00+07');

insert into raw.education__graduation
    (graduation_id, student_id, level, year, classification, updated_at,
     _batch_id, _source_row, _loaded_at)
values
    ('TN-0000001', 'HS-0000002', 'THCS', '2024', 'Giỏi', '2025-06-28T10:00:00Z', 'ed-graduation-20250630', 1, '2025-06-30 06:00:00+07'),
    ('TN-0000002', 'HS-0000006', 'THCS', '2025', 'Khá', '2025-06-28T10:00:00Z', 'ed-graduation-20250630', 2, '2025-06-30 06:00:00+07');

-- Enterprises: the workbook of week 24, founding dates in every form an Excel cell gives.
insert into raw.business_registry__enterprise
    (ma_so_thue, ten_doanh_nghiep, loai_hinh, ngay_thanh_lap, dia_chi_tru_so, ma_tinh,
     ho_ten_nguoi_dai_dien, so_dinh_danh_nguoi_dai_dien, trang_thai, _batch_id, _source_row, _loaded_at)
values
    ('0101234567', 'Công ty TNHH Thương mại An Phát', 'Công ty TNHH hai thành viên trở lên', '2015-03-20', '12 Hàng Bài, Hoàn Kiếm', '01', 'Kim Văn Tuấn', '001088000213', 'Đang hoạt động', 'br-enterprise-2025w24', 1, '2025-06-12 07:00:00+07'),
    ('0107654321', 'Công ty Cổ phần Công nghệ Việt Số', 'Công ty cổ phần', '2016-11-02 00:00:00', '5 Duy Tân, Cầu Giấy', '01', 'Đặng Quốc Việt', '001092000211', 'Đang hoạt động', 'br-enterprise-2025w24', 2, '2025-06-12 07:00:00+07'),
    ('0312345678', 'Công ty TNHH Một thành viên Sài Gòn Xanh', 'Công ty TNHH một thành viên', '45123', '20 Nguyễn Huệ, Quận 1', '79', 'John Smith', null, 'Đang hoạt động', 'br-enterprise-2025w24', 3, '2025-06-12 07:00:00+07'),
    ('0318765432', 'Doanh nghiệp tư nhân Minh Châu', 'Doanh nghiệp tư nhân', '15/3/2019', '8 Lê Duẩn, Quận 1', '79', 'Phạm Thị Thu', '079185000204', 'Tạm ngừng kinh doanh', 'br-enterprise-2025w24', 4, '2025-06-12 07:00:00+07'),
    ('0109999999', 'Công ty Cổ phần Đầu tư Hồng Hà', 'Công ty cổ phần', 'không rõ', '1 Tràng Thi, Hoàn Kiếm', '01', 'Bùi Văn Hải', '001080000999', 'Đang hoạt động', 'br-enterprise-2025w24', 5, '2025-06-12 07:00:00+07'),
    ('0108888888', 'Công ty TNHH Đông Á', 'Công ty TNHH hai thành viên trở lên', '2020-01-01', '9 Kim Mã, Ba Đình', '01', 'Lê Thị Hoa', '07919100040', 'Đang hoạt động', 'br-enterprise-2025w24', 6, '2025-06-12 07:00:00+07'),
    -- A General cell: Excel serial 43907 = 2020-03-17.
    ('2401289870', 'Công ty TNHH Nông sản Kinh Bắc', 'Công ty TNHH một thành viên', '43907', '15 Nguyễn Văn Cừ, Bắc Giang', '24', 'Thân Văn Dũng', '024085000870', 'Đang hoạt động', 'br-enterprise-2025w24', 7, '2025-06-12 07:00:00+07'),
    -- d/m/yyyy typed as text in a date column; the representative's ID of no province (99).
    ('0119822714', 'Công ty Cổ phần Xây dựng Thăng Long', 'Công ty cổ phần', '27/3/1996', '3 Láng Hạ, Đống Đa', '01', 'Nguyễn Hữu Thắng', '099070000714', 'Đang hoạt động', 'br-enterprise-2025w24', 8, '2025-06-12 07:00:00+07');

insert into ops.load_ledger
    (batch_id, source, entity, source_file, landing_key, rows_extracted, rows_landed, rows_loaded, loaded_at)
select
    batch_id, source, entity, source_file, landing_key, rows_loaded, rows_loaded, rows_loaded, loaded_at
from (
    select _batch_id as batch_id, 'civil_registration' as source, 'birth' as entity,
        'births_' || split_part(_batch_id, '-', 4) || '_' || split_part(_batch_id, '-', 3) || '.csv' as source_file,
        count(*) as rows_loaded, max(_loaded_at) as loaded_at
    from raw.civil_registration__birth group by _batch_id
    union all
    select _batch_id, 'civil_registration', 'death',
        'deaths_' || split_part(_batch_id, '-', 4) || '_' || split_part(_batch_id, '-', 3) || '.csv',
        count(*), max(_loaded_at)
    from raw.civil_registration__death group by _batch_id
    union all
    select _batch_id, 'civil_registration', 'marriage',
        'marriages_' || split_part(_batch_id, '-', 4) || '_' || split_part(_batch_id, '-', 3) || '.csv',
        count(*), max(_loaded_at)
    from raw.civil_registration__marriage group by _batch_id
    union all
    select _batch_id, 'social_insurance', 'insured_person', null, count(*), max(_loaded_at)
    from raw.social_insurance__insured_person group by _batch_id
    union all
    select _batch_id, 'social_insurance', 'contribution_period', null, count(*), max(_loaded_at)
    from raw.social_insurance__contribution_period group by _batch_id
    union all
    select _batch_id, 'residence', 'residence_change', null, count(*), max(_loaded_at)
    from raw.residence__residence_change group by _batch_id
    union all
    select _batch_id, 'residence', 'household_member', null, count(*), max(_loaded_at)
    from raw.residence__household_member group by _batch_id
    union all
    select _batch_id, 'education', 'student', null, count(*), max(_loaded_at)
    from raw.education__student group by _batch_id
    union all
    select _batch_id, 'education', 'enrolment', null, count(*), max(_loaded_at)
    from raw.education__enrolment group by _batch_id
    union all
    select _batch_id, 'education', 'graduation', null, count(*), max(_loaded_at)
    from raw.education__graduation group by _batch_id
    union all
    select _batch_id, 'business_registry', 'enterprise', 'enterprises_2025w24.xlsx', count(*), max(_loaded_at)
    from raw.business_registry__enterprise group by _batch_id
) as batches
cross join lateral (
    select source || '/' || entity || '/' || to_char(loaded_at at time zone 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD')
        || '/' || batch_id || '.parquet' as landing_key
) as keys;

-- The population database snapshot (normally copied in by the transform DAG's
-- prepare_warehouse task): the master record of some of the people above. Trần Văn Bình's
-- date of birth differs from social insurance's (a discrepancy); Trịnh Văn Hải is known by
-- his CMND 012345678 only in social insurance.
create table raw.population__citizen (
    personal_id text primary key,
    full_name text,
    date_of_birth date,
    sex_code text,
    date_of_death date,
    cmnd text,
    ethnicity_code text,
    province_code text,
    commune_code text,
    household_id text,
    updated_at timestamptz,
    _snapshot_at timestamptz not null default now()
);
insert into raw.population__citizen
    (personal_id, full_name, date_of_birth, sex_code, date_of_death, cmnd, ethnicity_code,
     province_code, commune_code, household_id, updated_at)
values
    ('001090000201', 'Nguyễn Văn An', '1990-03-15', '1', null, '011222333', '01', '01', '00004', 'HK-01-000201', '2024-05-01 10:00:00+07'),
    ('001090000202', 'Trần Văn Bình', '1990-07-21', '1', null, null, '01', '01', '00004', 'HK-01-000202', '2024-05-01 10:00:00+07'),
    ('079191000403', 'Lê Thị Hoa', '1991-11-02', '2', null, null, '01', '79', '26734', 'HK-79-000403', '2024-05-01 10:00:00+07'),
    ('001068000214', 'Trịnh Văn Hải', '1968-08-08', '1', null, '012345678', '01', '01', '00004', 'HK-01-000214', '2024-05-01 10:00:00+07'),
    ('001194000212', 'Hoàng Thị Mai', '1994-10-10', '2', null, null, '01', '01', '00004', 'HK-01-000212', '2024-05-01 10:00:00+07');

-- Discrepancies (marts.discrepancies_*): rows that disagree with the population database above
-- and the people it knows. Loaded in their own batches, after the rows above.
-- Phạm Văn Tư's death (1 December 2024) is in the population database only.
insert into raw.population__citizen
    (personal_id, full_name, date_of_birth, sex_code, date_of_death, cmnd, ethnicity_code,
     province_code, commune_code, household_id, updated_at)
values
    ('001092000211', 'Đặng Quốc Việt', '1992-12-24', '1', null, null, '01', '01', '00004', 'HK-01-000211', '2024-05-01 10:00:00+07'),
    ('001040000220', 'Phạm Văn Tư', '1940-02-02', '1', '2024-12-01', null, '01', '01', '00004', 'HK-01-000220', '2024-12-05 09:00:00+07'),
    ('001311000007', 'Trần Bảo Ngọc', '2011-05-20', '2', null, null, '01', '01', '00004', 'HK-01-000007', '2024-05-01 10:00:00+07');

-- Household memberships never closed: Nguyễn Văn An (death registered 9 June) and Phạm Văn
-- Tư (dead since December 2024) are still members.
insert into raw.residence__household_member
    (id, ma_ho, so_dinh_danh, quan_he_chu_ho, tu_ngay, den_ngay, updated_at,
     _batch_id, _source_row, _loaded_at)
values
    ('800008', 'HO-01-000003', '001090000201', '01', '2015-04-01', null, '2025-06-11 11:00:00', 'rs-household-20250612', 1, '2025-06-12 03:00:00+07'),
    ('800009', 'HO-01-000004', '001040000220', '01', '1995-03-01', null, '2025-06-11 11:05:00', 'rs-household-20250612', 2, '2025-06-12 03:00:00+07');

-- A registration of 2 July 2025, after the reform, still with the legacy ward 00007, which
-- was split between two 2025 communes: the agency must say which one.
insert into raw.residence__residence_change
    (id, so_dinh_danh, loai_bien_dong, ma_tinh, ma_huyen, ma_xa, dia_chi_chi_tiet,
     ngay_bien_dong, updated_at, _batch_id, _source_row, _loaded_at)
values
    ('700008', '001092000211', 'DK_THUONG_TRU', '01', '001', '00007', '5 Tràng Tiền', '2025-07-02', '2025-07-02 15:00:00', 'rs-change-20250703', 1, '2025-07-03 03:00:00+07');

-- A student recorded as a boy although her ID (G = 3: female, born 2011) and the population
-- database say female.
insert into raw.education__student
    (student_id, citizen_id, full_name, date_of_birth, gender, ethnicity_code, updated_at,
     _batch_id, _source_row, _loaded_at)
values
    ('HS-0000007', '001311000007', 'Trần Bảo Ngọc', '2011-05-20', 'M', '01', '2025-07-01T08:00:00Z', 'ed-student-20250702', 1, '2025-07-02 06:00:00+07');

-- A representative whose name in the register differs from the population database's
-- (Đặng Quốc Viện for Đặng Quốc Việt).
insert into raw.business_registry__enterprise
    (ma_so_thue, ten_doanh_nghiep, loai_hinh, ngay_thanh_lap, dia_chi_tru_so, ma_tinh,
     ho_ten_nguoi_dai_dien, so_dinh_danh_nguoi_dai_dien, trang_thai, _batch_id, _source_row, _loaded_at)
values
    ('0105550123', 'Công ty TNHH Phần mềm Hồ Gươm', 'Công ty TNHH một thành viên', '2021-09-09', '15 Đinh Tiên Hoàng, Hoàn Kiếm', '01', 'Đặng Quốc Viện', '001092000211', 'Đang hoạt động', 'br-enterprise-2025w25', 1, '2025-06-19 07:00:00+07');

insert into ops.load_ledger
    (batch_id, source, entity, source_file, landing_key, rows_extracted, rows_landed, rows_loaded, loaded_at)
select
    batch_id, source, entity, source_file,
    source || '/' || entity || '/' || to_char(loaded_at at time zone 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD')
        || '/' || batch_id || '.parquet',
    rows_loaded, rows_loaded, rows_loaded, loaded_at
from (
    select _batch_id as batch_id, 'residence' as source, 'household_member' as entity,
        null as source_file, count(*) as rows_loaded, max(_loaded_at) as loaded_at
    from raw.residence__household_member where _batch_id = 'rs-household-20250612' group by _batch_id
    union all
    select _batch_id, 'residence', 'residence_change', null, count(*), max(_loaded_at)
    from raw.residence__residence_change where _batch_id = 'rs-change-20250703' group by _batch_id
    union all
    select _batch_id, 'education', 'student', null, count(*), max(_loaded_at)
    from raw.education__student where _batch_id = 'ed-student-20250702' group by _batch_id
    union all
    select _batch_id, 'business_registry', 'enterprise', 'enterprises_2025w25.xlsx', count(*), max(_loaded_at)
    from raw.business_registry__enterprise where _batch_id = 'br-enterprise-2025w25' group by _batch_id
) as batches;

commit;
